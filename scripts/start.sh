#!/usr/bin/env bash
# The README's main command: set up, then run the main job on the shipped default model.
# Extra arguments go to `mlx-batch generate` (e.g. --prompt "..." --max-tokens 64).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
model=models/default
if [ ! -f "$model/config.json" ]; then
  echo "[start] models/default is not built yet; using a random-weight fixture model (gibberish text, real speed)." >&2
  model=$(node dist/cli.js make-model --arch qwen2 --size small --out .cache/models/qwen2-small --if-missing --print-path)
fi
if [ "$#" -eq 0 ]; then set -- --prompt "function fibonacci(n: number): number {" --max-tokens 64; fi
exec node --expose-gc dist/cli.js generate --model "$model" "$@"
