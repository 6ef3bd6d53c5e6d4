// Loads the BLAS shim (built by scripts/setup.sh into build/native/skinny-gemm.node) with
// RTLD_GLOBAL BEFORE node-mlx, so that its cblas_sgemm takes MLX's matmuls. It has two parts:
// the small-M kernel (small-gemm.c) takes every product of 1-48 rows against a weight (decode),
// and the one-row sgemv route (skinny-gemm.c, which also holds the interposer) sends the other
// one-row / one-column products to OpenBLAS sgemv, 2-3x faster here than its sgemm
// (docs/PERFORMANCE.md). Linux only; no shim = plain MLX. MLX_BATCH_SKINNY_GEMM=0 turns it off.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface BlasShim {
  path: string;
  /** Routes 1-48-row products against a transposed weight to the small-M kernel and other one-row / one-column products to sgemv when on (the default). */
  setEnabled(on: boolean): void;
  /** openblas_set_num_threads, and the small-M kernel's thread count. */
  setBlasThreads(n: number): void;
  /** [products on the one-row sgemv route, products passed to sgemm, products done by the small-M kernel] so far. */
  counts(): [number, number, number];
  /** Bytes malloc holds for the process (MLX's CPU buffers among them); -1 without glibc. Absent in a shim built before it existed. */
  mallocBytes?(): number;
}

const FILE = path.join('build', 'native', 'skinny-gemm.node');

/** build/native/skinny-gemm.node in the first folder above this module that has one. */
function findShim(): string | undefined {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, FILE);
    if (fs.existsSync(candidate)) return candidate;
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return undefined;
}

function load(): BlasShim | undefined {
  if (process.platform !== 'linux' || process.env.MLX_BATCH_SKINNY_GEMM === '0') return undefined;
  const file = findShim();
  if (!file) return undefined;
  const mod = { exports: {} as Omit<BlasShim, 'path'> };
  try {
    process.dlopen(mod, file, os.constants.dlopen.RTLD_NOW | os.constants.dlopen.RTLD_GLOBAL);
  } catch (e) {
    process.stderr.write(`mlx-batch: the BLAS shim (${file}) was not loaded (${(e as Error).message}); decode will be slower\n`);
    return undefined;
  }
  return { path: file, ...mod.exports };
}

export const blasShim: BlasShim | undefined = load();
