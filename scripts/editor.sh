#!/usr/bin/env bash
# Opens VS Code in the browser (code-server, installed once into .cache/code-server) with the
# extension from this checkout, on a sample workspace, with the shipped default model (or a
# random-weight fixture while models/default is not built). Prints the URL; Ctrl-C stops it.
# Safe to run again; a second run while one is up just prints that one's URL.
# Environment: PORT (default: a free port), MLX_BATCH_MODEL (a model folder to use instead).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
say() { printf '[editor] %s\n' "$*" >&2; }
t0=$(date +%s)

state="$repo/.cache/editor"
mkdir -p "$state"
if [ -f "$state/code-server.pid" ] && kill -0 "$(cat "$state/code-server.pid")" 2>/dev/null; then
  say "already running: $(cat "$state/url")"
  exit 0
fi

# 1. Dependencies and the build (dist/), then VS Code in the browser.
bash scripts/setup.sh
pkg=$(bash scripts/install-code-server.sh | tail -1)

# 2. The model.
model=${MLX_BATCH_MODEL:-}
if [ -z "$model" ]; then
  if [ -f models/default/config.json ]; then
    model="$repo/models/default"
  else
    say "models/default is not built yet; using a random-weight fixture model (gibberish text, real speed)."
    model=$(node dist/cli.js make-model --arch qwen2 --size small --out "$repo/.cache/models/qwen2-small" --if-missing --print-path)
  fi
fi

# 3. The extension: a folder in code-server's extensions dir that links to this checkout, so a
#    rebuild (npm run build) shows up on the next window reload.
version=$(node -p "require('./package.json').version")
exts="$state/extensions"
ext="$exts/mlx-batch.mlx-batch-$version"
rm -rf "$exts"
mkdir -p "$ext"
cp package.json "$ext/package.json"
for f in dist media node_modules models README.md LICENSE CHANGELOG.md; do
  [ -e "$f" ] && ln -sfn "$repo/$f" "$ext/$f"
done

# 4. User settings (our keys only; anything else the user changed stays) and the workspace.
user="$state/user-data/User"
mkdir -p "$user"
MODEL="$model" SETTINGS="$user/settings.json" node -e '
  const fs = require("fs");
  const file = process.env.SETTINGS;
  let s = {};
  try { s = JSON.parse(fs.readFileSync(file, "utf8")); } catch {}
  Object.assign(s, {
    "security.workspace.trust.enabled": false,
    "workbench.startupEditor": "none",
    "mlxBatch.model": process.env.MODEL,
    "mlxBatch.completion.maxTokens": s["mlxBatch.completion.maxTokens"] ?? 24,
  });
  fs.writeFileSync(file, JSON.stringify(s, null, 2) + "\n");
'
workspace="$state/workspace"
[ -d "$workspace" ] || cp -r test/fixtures/workspace "$workspace"

# 5. Start it.
port=${PORT:-$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')}
url="http://127.0.0.1:$port/?folder=$workspace"
log="$state/code-server.log"
node "$pkg/out/node/entry.js" --auth none --bind-addr "127.0.0.1:$port" \
  --user-data-dir "$state/user-data" --extensions-dir "$exts" \
  --disable-telemetry --disable-update-check "$workspace" >"$log" 2>&1 &
cs=$!
echo "$cs" >"$state/code-server.pid"
echo "$url" >"$state/url"
cleanup() {
  kill "$cs" 2>/dev/null || true
  wait "$cs" 2>/dev/null || true
  rm -f "$state/code-server.pid"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
until grep -q 'HTTP server listening' "$log" 2>/dev/null; do
  if ! kill -0 "$cs" 2>/dev/null; then say "code-server did not start:"; cat "$log" >&2; exit 1; fi
  sleep 0.2
done
say "ready in $(( $(date +%s) - t0 ))s (model: $model; log: $log)"
echo
echo "  VS Code with MLX Batch: $url"
echo
echo "  Press Ctrl-C to stop."
if { [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; } && command -v xdg-open >/dev/null; then
  xdg-open "$url" >/dev/null 2>&1 || true
elif [ "$(uname -s)" = "Darwin" ]; then
  open "$url" || true
fi
wait "$cs"
