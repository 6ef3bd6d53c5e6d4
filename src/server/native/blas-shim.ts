// Loads the BLAS shim (built by scripts/setup.sh into build/native/skinny-gemm.node) with
// RTLD_GLOBAL BEFORE node-mlx, so that its cblas_sgemm takes MLX's matmuls. It has two parts:
// the small-M kernel (small-gemm.c) takes every product of 1-48 rows against a weight (decode),
// and the one-row sgemv route (skinny-gemm.c, which also holds the interposer) sends the other
// one-row / one-column products to OpenBLAS sgemv, 2-3x faster here than its sgemm
// (docs/PERFORMANCE.md). Linux only; no shim = plain MLX. MLX_BATCH_SKINNY_GEMM=0 turns it off.
// MLX_BATCH_SMALL_GEMM_ROWS, read by the shim itself (atoi), is checked here first, so that a value
// it would misread fails the start instead of quietly turning the kernel off.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MlxBatchError } from '../../shared/errors';

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
  /** Hands the free memory malloc keeps back to the kernel (glibc's malloc_trim). Absent in a shim built before it existed. */
  trimMalloc?(): void;
  /** The CPU family OpenBLAS chose its kernels for ('Cooperlake', 'Haswell', ...; OPENBLAS_CORETYPE forces one); null for another BLAS. Absent in a shim built before it existed. */
  blasCore?(): string | null;
}

const FILE = path.join('build', 'native', 'skinny-gemm.node');

/** small_m_max of skinny-gemm.c: the most rows the small-M kernel takes when the variable is unset. */
const SMALL_GEMM_ROWS_DEFAULT = 48;
const SMALL_GEMM_ROWS = 'MLX_BATCH_SMALL_GEMM_ROWS';

/** The small-M kernel's row limit as the shim reads it from the environment; throws on a value it would misread. */
function smallGemmRowsFromEnv(): number {
  const v = process.env[SMALL_GEMM_ROWS];
  if (v === undefined || v === '') return SMALL_GEMM_ROWS_DEFAULT;
  if (!/^\d{1,9}$/.test(v)) {
    throw new MlxBatchError('validation', `${SMALL_GEMM_ROWS} must be a whole number of rows, 0 to turn the small-M kernel off (got ${JSON.stringify(v)})`, SMALL_GEMM_ROWS);
  }
  return Number(v);
}

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

/** Most rows of a product the small-M kernel takes (0: none). */
export const smallGemmRows = smallGemmRowsFromEnv();
export const blasShim: BlasShim | undefined = load();
