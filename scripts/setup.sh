#!/usr/bin/env bash
# Installs what mlx-batch needs on this machine, then builds it. Safe to run again: each step
# checks first and does nothing when its part is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup] %s\n' "$*" >&2; }
# shellcheck source=lib/apt.sh
source scripts/lib/apt.sh

# 1. Node.js 20 or newer.
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  say "Node.js 20 or newer is required (found: $(node --version 2>/dev/null || echo none))."
  exit 1
fi

# 2. System libraries. node-mlx's Linux build links liblapack.so.3 and libblas.so.3; OpenBLAS
#    must provide the latter (the reference BLAS makes batching useless: docs/PERFORMANCE.md).
if [ "$(uname -s)" = "Linux" ]; then
  ensure_debs liblapack3 libopenblas0-pthread
fi

# 3. npm packages. On Linux, node-mlx's install script downloads a binary that its tarball
#    already contains, and fails offline: skip install scripts there. On macOS the script
#    fetches the Metal build, so the normal path runs.
stamp=node_modules/.mlx-batch-install
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ package.json -nt "$stamp" ]; then
  npm_flags=(--no-audit --no-fund)
  if [ "$(uname -s)" != "Darwin" ]; then npm_flags+=(--ignore-scripts); fi
  if [ -f package-lock.json ]; then
    say "npm ci ${npm_flags[*]}"
    npm ci "${npm_flags[@]}" >&2
  else
    npm install "${npm_flags[@]}" >&2
  fi
  touch "$stamp"
fi
if ! node -e "require('@frost-beta/mlx')" 2>/dev/null; then
  say "node-mlx does not load:"
  node -e "require('@frost-beta/mlx')" || true
  exit 1
fi

# 4. Type declarations for node-mlx. Its package ships TypeScript sources for nn/optimizers,
#    which our strict settings would type-check; emit plain .d.ts once (tsconfig maps to them).
types=node_modules/.mlx-types
if [ ! -f "$types/index.d.ts" ] || [ "$stamp" -nt "$types/index.d.ts" ]; then
  rm -rf "$types"
  node node_modules/typescript/bin/tsc -p node_modules/@frost-beta/mlx/tsconfig.json \
    --declaration --emitDeclarationOnly --noCheck --skipLibCheck --outDir "$types"
  cp node_modules/@frost-beta/mlx/lib/index.d.ts "$types/index.d.ts"
fi

# 5. The skinny-gemm BLAS shim (Linux): routes MLX's one-row matmuls to OpenBLAS sgemv (2-3x
#    faster for batch-1 decode) and 2-16-row ones to a small-M kernel (batched decode); see
#    docs/PERFORMANCE.md. Optional: without a C compiler, skipped.
if [ "$(uname -s)" = "Linux" ]; then
  shim=build/native/skinny-gemm.node
  srcs="src/server/native/skinny-gemm.c src/server/native/small-gemm.c"
  stale=0
  for src in $srcs; do [ "$src" -nt "$shim" ] && stale=1; done
  if [ ! -f "$shim" ] || [ "$stale" = 1 ]; then
    mkdir -p build/native
    # shellcheck disable=SC2086 # $srcs is a list of paths without spaces
    if command -v cc >/dev/null 2>&1 && cc -O2 -shared -fPIC $srcs -o "$shim.tmp" -ldl -lpthread 2>/dev/null; then
      mv "$shim.tmp" "$shim"
    else
      rm -f "$shim.tmp"
      say "no C compiler: the skinny-gemm shim is not built (batch-1 decode will be slower)"
    fi
  fi
fi

# 6. Build the bundles (dist/) the CLI, the server and the extension run from.
node scripts/build.mjs
