#!/usr/bin/env bash
# Installs node-llama-cpp 3.x and its prebuilt CPU (Linux x64) or Metal (macOS arm64) binary into
# bench/.deps, outside the project's package.json (its optional CUDA/Vulkan builds are huge).
# Idempotent: does nothing when the pinned version is already there. Used by bench/vs-llama-cpp.ts.
set -euo pipefail
VERSION="${NODE_LLAMA_CPP_VERSION:-3.22.1}"
DEPS="$(cd "$(dirname "$0")" && pwd)/.deps"
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) BINARY=@node-llama-cpp/linux-x64 ;;
  Linux-aarch64) BINARY=@node-llama-cpp/linux-arm64 ;;
  Darwin-arm64) BINARY=@node-llama-cpp/mac-arm64-metal ;;
  Darwin-x86_64) BINARY=@node-llama-cpp/mac-x64 ;;
  *) echo "setup-llama-cpp: no prebuilt node-llama-cpp binary for $(uname -s)-$(uname -m)" >&2; exit 1 ;;
esac
have() { node -p "require('$DEPS/node_modules/$1/package.json').version" 2>/dev/null || true; }
if [ "$(have node-llama-cpp)" = "$VERSION" ] && [ "$(have "$BINARY")" = "$VERSION" ]; then
  echo "node-llama-cpp $VERSION already in $DEPS"
  exit 0
fi
mkdir -p "$DEPS"
[ -f "$DEPS/package.json" ] || echo '{ "private": true }' > "$DEPS/package.json"
# --ignore-scripts: its postinstall would try to download or build llama.cpp; the prebuilt binary
# package is installed explicitly instead. --omit=optional skips the CUDA/Vulkan binaries.
npm install --prefix "$DEPS" --ignore-scripts --omit=optional --no-audit --no-fund --no-save \
  "node-llama-cpp@$VERSION" "$BINARY@$VERSION"
echo "node-llama-cpp $VERSION installed in $DEPS"
