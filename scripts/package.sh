#!/usr/bin/env bash
# `npm run package`: set up and build (scripts/setup.sh: dist/, and on macOS node-mlx's Metal
# build), then pack mlx-batch-<version>-<platform>.vsix for this platform only. The .vsix holds
# this machine's native MLX module, so it names its target and the marketplace hands it to no
# other platform.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
target=$(node -p '`${process.platform}-${process.arch}`')
case "$target" in
  linux-x64|linux-arm64|darwin-x64|darwin-arm64) ;;
  *) echo "[package] node-mlx has no build for $target" >&2; exit 1 ;;
esac
version=$(node -p 'require("./package.json").version')
exec node node_modules/@vscode/vsce/vsce package --target "$target" --out "mlx-batch-$version-$target.vsix" \
  --allow-missing-repository --skip-license --no-rewrite-relative-links "$@"
