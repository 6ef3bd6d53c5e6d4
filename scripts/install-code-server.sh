#!/usr/bin/env bash
# Installs VS Code in the browser (code-server, from the npm registry, no other download) under
# <repo>/.cache/code-server/<version>/package and prints that folder on stdout. Cached: a second
# run only checks. A run that fails leaves no stamp, so the next run starts that install clean.
# Each step prints its time; a failed step names its log and what to do.
# Recipe and reasons: the code-server section of docs/ARCHITECTURE.md's test tiers.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
version=${CODE_SERVER_VERSION:-4.100.3}
cache="$repo/.cache/code-server/$version"
pkg="$cache/package"
stamp="$cache/.installed"
log="$cache/install.log"
TAG=code-server
# shellcheck source=lib/steps.sh
source "$repo/scripts/lib/steps.sh"
# shellcheck source=lib/system.sh
source "$repo/scripts/lib/system.sh"
t0=$SECONDS

# 1. System packages: Chromium (the e2e tests drive it), ripgrep (VS Code's search), a C/C++
#    toolchain, python3 and the headers code-server's native modules build against.
if [ "$(uname -s)" = "Darwin" ]; then
  ensure_commands rg:ripgrep python3:python3 "c++:xcode-select --install" "make:xcode-select --install" pkg-config:pkg-config
else
  APT_LOG="$repo/.cache/apt.log" ensure_debs chromium ripgrep pkg-config libkrb5-dev libsecret-1-dev libx11-dev libxkbfile-dev build-essential python3
fi

if [ -f "$stamp" ] && [ -f "$pkg/out/node/entry.js" ]; then
  echo "$pkg"
  exit 0
fi

# 2. node-gyp where the build will look for it. node-pty's postinstall runs `npx node-gyp`, and npx
#    resolves it in npm's global prefix, not on PATH (inside `npm test` PATH holds npm's own
#    node-gyp shim, which npx ignores). So node-gyp goes into a prefix of our own and the rebuild
#    runs with that prefix as npm's global one; before the rebuild, npx itself is asked, from
#    node-pty's folder and in that same setting, whether it finds node-gyp. Nothing global is
#    needed or changed: it works without root, and whatever the machine has installed.
gyp="$repo/.cache/tools/node-gyp-12"
# npm reads its global config file from the prefix: keep the machine's (registry, proxy, CA).
gyp_env=(env "NPM_CONFIG_PREFIX=$gyp" "NPM_CONFIG_GLOBALCONFIG=$(npm config get globalconfig)" "PATH=$gyp/bin:$PATH")
# node-gyp builds against this Node's own headers where its install has them (Debian's nodejs
# does); otherwise it downloads them, which needs nodejs.org.
node_prefix=$(node -p 'require("path").resolve(process.execPath, "..", "..")')
if [ -f "$node_prefix/include/node/node_api.h" ]; then gyp_env+=("npm_config_nodedir=$node_prefix"); fi
gyp_major=$("$gyp/bin/node-gyp" --version 2>/dev/null | sed 's/^v//; s/\..*//' || true)
if [ "${gyp_major:-0}" != 12 ]; then
  rm -rf "$gyp"
  step "npm install node-gyp@12 into .cache/tools" "$repo/.cache/tools/install.log" "check that npm can reach its registry (npm ping), then run this again" \
    npm install --global --prefix "$gyp" --no-audit --no-fund node-gyp@12
fi

# 3. The package itself, its runtime dependencies without install scripts (they download from
#    GitHub), then the native modules rebuilt from source. The rebuild says --ignore-scripts=false:
#    under `npm test` npm hands our .npmrc's ignore-scripts to child npm processes as
#    npm_config_ignore_scripts, which would make it build nothing.
rm -rf "$cache"
mkdir -p "$cache"
: >"$log"
retry="check that npm can reach its registry (npm ping), then run this again"
step "npm pack code-server@$version" "$log" "$retry" \
  bash -c 'cd "$1" && npm pack "code-server@$2" && tar xzf "code-server-$2.tgz" && rm "code-server-$2.tgz"' _ "$cache" "$version"
npm_i=(npm install --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error)
step "npm install (VS Code)" "$log" "$retry" bash -c 'cd "$1" && shift && "$@"' _ "$pkg/lib/vscode" "${npm_i[@]}"
step "npm install (built-in extensions)" "$log" "$retry" bash -c 'cd "$1" && shift && "$@"' _ "$pkg/lib/vscode/extensions" "${npm_i[@]}"
step "npm install (code-server)" "$log" "$retry" bash -c 'cd "$1" && shift && "$@"' _ "$pkg" "${npm_i[@]}"
pty="$pkg/lib/vscode/node_modules/node-pty"
step "check that npx finds node-gyp where node-pty's install runs it" "$log" "remove .cache/tools and run this again" \
  bash -c 'cd "$1" && shift && "$@"' _ "$pty" "${gyp_env[@]}" npm exec --no --offline -- node-gyp --version
build_hint="the native modules need a C++ toolchain, python3 and the headers installed in step 1; see the log"
step "npm rebuild (VS Code's native modules)" "$log" "$build_hint" \
  bash -c 'cd "$1" && shift && "$@"' _ "$pkg/lib/vscode" "${gyp_env[@]}" npm rebuild --ignore-scripts=false kerberos @parcel/watcher @vscode/deviceid @vscode/spdlog native-watchdog node-pty
step "npm rebuild (argon2)" "$log" "$build_hint" bash -c 'cd "$1" && shift && "$@"' _ "$pkg" "${gyp_env[@]}" npm rebuild --ignore-scripts=false argon2

# 4. VS Code looks for node_modules.asar; ripgrep comes from the system.
ln -sfn node_modules "$pkg/lib/vscode/node_modules.asar"
mkdir -p "$pkg/lib/vscode/node_modules/@vscode/ripgrep/bin"
cp "$(command -v rg)" "$pkg/lib/vscode/node_modules/@vscode/ripgrep/bin/rg"

step "check that node-pty loads" "$log" "$build_hint" node -e "require(process.argv[1])" "$pty"
touch "$stamp"
say "installed in $((SECONDS - t0))s: $pkg"
echo "$pkg"
