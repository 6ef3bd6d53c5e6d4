// How long OpenBLAS's worker threads spin after a product before they sleep. OpenBLAS reads
// OPENBLAS_THREAD_TIMEOUT when it loads (with node-mlx); its default, 2^28 cycles (about a tenth
// of a second), keeps a worker busy-waiting on a core after every prompt product, while MLX's next
// operations run on other threads: attention's second stream (model/sdpa.ts), JavaScript building
// the next step. On a 2-core machine that spinning took the core the second stream needed
// (docs/PERFORMANCE.md). 4, OpenBLAS's least, has the workers sleep at once; waking them costs
// microseconds against products of milliseconds. A value already in the environment is kept.
// This module must be loaded before node-mlx (src/server/mlx.ts imports it first).

/** OpenBLAS's worker spin time as a power of two of cycles: its least. */
export const OPENBLAS_THREAD_TIMEOUT = '4';

/** Sets OPENBLAS_THREAD_TIMEOUT for this process unless already set; returns the value in effect. */
export function setOpenBlasThreadTimeout(env: NodeJS.ProcessEnv = process.env): string {
  if (!env.OPENBLAS_THREAD_TIMEOUT) env.OPENBLAS_THREAD_TIMEOUT = OPENBLAS_THREAD_TIMEOUT;
  return env.OPENBLAS_THREAD_TIMEOUT;
}

setOpenBlasThreadTimeout();
