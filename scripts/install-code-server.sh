#!/usr/bin/env bash
# Installs VS Code in the browser (code-server, from the npm registry, no other download) under
# <repo>/.cache/code-server/<version>/package and prints that folder. Cached: a second run only
# checks. Recipe and reasons: the code-server section of FACTS.md. Also installs Chromium (the
# e2e tests drive it) when run as root on Debian/Ubuntu.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
version=${CODE_SERVER_VERSION:-4.100.3}
cache="$repo/.cache/code-server/$version"
pkg="$cache/package"
stamp="$cache/.installed"
say() { printf '[code-server] %s\n' "$*" >&2; }
# shellcheck source=lib/apt.sh
source "$repo/scripts/lib/apt.sh"
t0=$(date +%s)

# 1. System packages: Chromium (for the e2e tests), ripgrep (VS Code's search) and the headers
#    code-server's native modules build against.
debs=(chromium ripgrep pkg-config libkrb5-dev libsecret-1-dev libx11-dev libxkbfile-dev build-essential python3)
ensure_debs "${debs[@]}"

if [ -f "$stamp" ] && [ -f "$pkg/out/node/entry.js" ]; then
  echo "$pkg"
  exit 0
fi

# 2. node-pty's install runs `npx node-gyp`; an old global node-gyp breaks on Node 20.
if ! command -v node-gyp >/dev/null || [ "$(node-gyp --version 2>/dev/null | sed 's/^v//; s/\..*//')" -lt 10 ]; then
  say "npm install -g node-gyp@12"
  npm install -g --no-audit --no-fund node-gyp@12 >&2
fi

# 3. The package itself, its runtime dependencies without install scripts (they download from
#    GitHub), then the native modules rebuilt from source.
rm -rf "$cache"
mkdir -p "$cache"
log="$cache/install.log"
say "npm pack code-server@$version (log: $log)"
(cd "$cache" && npm pack --silent "code-server@$version" >>"$log" 2>&1 && tar xzf "code-server-$version.tgz" && rm "code-server-$version.tgz")
npm_i=(npm install --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error)
say "npm install (vscode, built-in extensions, code-server)"
(cd "$pkg/lib/vscode" && "${npm_i[@]}") >>"$log" 2>&1
(cd "$pkg/lib/vscode/extensions" && "${npm_i[@]}") >>"$log" 2>&1
(cd "$pkg" && "${npm_i[@]}") >>"$log" 2>&1
say "npm rebuild (native modules)"
(cd "$pkg/lib/vscode" && npm rebuild kerberos @parcel/watcher @vscode/deviceid @vscode/spdlog native-watchdog node-pty) >>"$log" 2>&1
(cd "$pkg" && npm rebuild argon2) >>"$log" 2>&1

# 4. VS Code looks for node_modules.asar; ripgrep comes from the system.
ln -sfn node_modules "$pkg/lib/vscode/node_modules.asar"
mkdir -p "$pkg/lib/vscode/node_modules/@vscode/ripgrep/bin"
cp "$(command -v rg)" "$pkg/lib/vscode/node_modules/@vscode/ripgrep/bin/rg"

node -e "require('$pkg/lib/vscode/node_modules/node-pty')" 2>>"$log" || { say "node-pty does not load: see $log"; exit 1; }
touch "$stamp"
say "installed in $(( $(date +%s) - t0 ))s: $pkg"
echo "$pkg"
