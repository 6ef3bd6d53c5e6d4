#!/usr/bin/env bash
# Installs what mlx-batch needs on this machine, then builds it. Safe to run again: each step
# checks what is there (not a stamp) and repairs what is missing or half-installed. Each step
# prints its time; a failed step names its log and what to do. Logs: .cache/setup/.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
TAG=setup
# shellcheck source=lib/steps.sh
source scripts/lib/steps.sh
# shellcheck source=lib/system.sh
source scripts/lib/system.sh
logs="$repo/.cache/setup"
mkdir -p "$logs"
os=$(uname -s)
t0=$SECONDS

# 1. Node.js 20 or newer.
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  say "Node.js 20 or newer is required (found: $(node --version 2>/dev/null || echo none))."
  exit 1
fi

# 2. System libraries. node-mlx's Linux build links liblapack.so.3 and libblas.so.3; OpenBLAS
#    must provide the latter (the reference BLAS makes batching useless: docs/PERFORMANCE.md).
if [ "$os" = "Linux" ]; then
  APT_LOG="$logs/apt.log" ensure_debs liblapack3 libopenblas0-pthread
fi

# 3. npm packages, checked against package-lock.json (an interrupted install is found and
#    redone). .npmrc turns dependencies' install scripts off everywhere: node-mlx's downloads a
#    binary from GitHub, which on Linux its tarball already holds. On macOS the Metal build is
#    that download, so it runs here explicitly.
if ! why=$(node scripts/lib/check-node-modules.mjs); then
  say "node_modules needs installing: $why"
  step "npm ci" "$logs/npm.log" "check that npm can reach its registry (npm ping), then run this again" \
    npm ci --ignore-scripts --no-audit --no-fund
fi
mlx_loads() { node -e "require('@frost-beta/mlx')" 2>"$logs/node-mlx.log"; }
if [ "$os" = "Darwin" ] && ! mlx_loads; then
  step "node-mlx: download its Metal build" "$logs/npm.log" "node-mlx's install script needs github.com; see the log" \
    node node_modules/@frost-beta/mlx/install.js
fi
if ! mlx_loads; then
  err=$(cat "$logs/node-mlx.log")
  case "$err" in
    *liblapack*|*libblas*|*libopenblas*|*libgfortran*)
      fail "node-mlx does not load: a system library is missing" "$logs/node-mlx.log" "sudo apt-get install liblapack3 libopenblas0-pthread" ;;
    *"invalid ELF header"*|*"wrong ELF class"*|*"not a mach-o"*|*"incompatible architecture"*|*"slice is not valid"*)
      fail "node-mlx does not load: its binary is built for another platform (this is $os $(uname -m))" "$logs/node-mlx.log" "rm -rf node_modules, then run this again" ;;
    *)
      fail "node-mlx does not load" "$logs/node-mlx.log" "rm -rf node_modules, then run this again" ;;
  esac
fi

# 4. Type declarations for node-mlx. Its package ships TypeScript sources for nn/optimizers,
#    which our strict settings would type-check; emit plain .d.ts once (tsconfig maps to them).
types=node_modules/.mlx-types
if [ ! -f "$types/index.d.ts" ] || [ node_modules/@frost-beta/mlx/package.json -nt "$types/index.d.ts" ]; then
  rm -rf "$types"
  step "node-mlx type declarations" "$logs/types.log" "rm -rf node_modules, then run this again" \
    node node_modules/typescript/bin/tsc -p node_modules/@frost-beta/mlx/tsconfig.json \
      --declaration --emitDeclarationOnly --noCheck --skipLibCheck --outDir "$types"
  cp node_modules/@frost-beta/mlx/lib/index.d.ts "$types/index.d.ts"
fi

# 5. The BLAS shim (Linux; build/native/skinny-gemm.node): its small-M kernel takes MLX's decode
#    matmuls (1-48 rows against a weight) and its one-row sgemv route the other one-row ones (2-3x
#    faster than OpenBLAS sgemm); see docs/PERFORMANCE.md. Optional: without a C compiler,
#    skipped with a note.
if [ "$os" = "Linux" ]; then
  shim=build/native/skinny-gemm.node
  srcs="src/server/native/skinny-gemm.c src/server/native/small-gemm.c"
  stale=0
  for src in $srcs; do [ "$src" -nt "$shim" ] && stale=1; done
  if [ ! -f "$shim" ] || [ "$stale" = 1 ]; then
    mkdir -p build/native
    if command -v cc >/dev/null 2>&1; then
      # shellcheck disable=SC2086 # $srcs is a list of paths without spaces
      step "BLAS shim (cc)" "$logs/shim.log" "see the log; without the shim batch-1 decode is slower but works (rm build/native to retry)" \
        cc -O2 -shared -fPIC $srcs -o "$shim.tmp" -ldl -lpthread
      mv "$shim.tmp" "$shim"
    else
      say "no C compiler (cc): the BLAS shim is not built, so batch-1 decode is slower (apt-get install gcc)"
    fi
  fi
fi

# 6. The bundles (dist/) the CLI, the server and the extension run from.
step "build dist/ (esbuild)" "$logs/build.log" "see the log" node scripts/build.mjs
say "ready in $((SECONDS - t0))s"
