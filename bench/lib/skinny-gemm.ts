// Loads bench/native/skinny-gemm.c (a cblas_sgemm interposer: one-row/one-column products go to
// cblas_sgemv) with RTLD_GLOBAL. It must load before node-mlx, so import this module first.
import os from 'node:os';
import { buildNative } from './native';

export interface SkinnyGemm {
  path: string;
  /** Routes M==1 / N==1 products to sgemv when on (the default), to OpenBLAS sgemm when off. */
  setEnabled(on: boolean): void;
  /** openblas_set_num_threads. */
  setBlasThreads(n: number): void;
  /** [products routed to sgemv, products passed to sgemm] so far. */
  counts(): [number, number];
}

function load(): SkinnyGemm | undefined {
  if (process.env.MLX_BATCH_SKINNY_GEMM === '0') return undefined;
  if ('@frost-beta/mlx' in require.cache || Object.keys(require.cache).some((k) => k.includes('@frost-beta/mlx'))) {
    throw new Error('skinny-gemm must be loaded before node-mlx: import bench/lib/skinny-gemm first');
  }
  const file = buildNative('skinny-gemm.c', 'addon');
  if (!file) return undefined;
  const mod = { exports: {} as Omit<SkinnyGemm, 'path'> };
  process.dlopen(mod, file, os.constants.dlopen.RTLD_NOW | os.constants.dlopen.RTLD_GLOBAL);
  return { path: file, ...mod.exports };
}

export const skinnyGemm: SkinnyGemm | undefined = load();
