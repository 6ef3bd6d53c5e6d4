// The one place node-mlx is loaded. Everything in src/server takes `mx`, `nn` and the
// array type from here, so the binding can be swapped or wrapped in one file.
// The BLAS shim must be loaded before node-mlx (see native/blas-shim.ts); the compiler MLX
// runs for mx.compile on the CPU is set up here too (native/cpu-jit.ts), and how long OpenBLAS's
// worker threads spin (native/openblas-threads.ts, read by OpenBLAS when node-mlx loads it). A load that fails
// (a binary of another platform, a missing system library) throws one typed MlxBatchError
// (mlx-load-error.ts); the server process reaches this module only inside its guarded start.
// MLX_BATCH_MLX_MODULE, when set, names the node-mlx package folder to load instead.
import path from 'node:path';
import type * as Mlx from '@frost-beta/mlx';
import './native/openblas-threads';
import { blasShim } from './native/blas-shim';
import { setUpCpuJit } from './native/cpu-jit';
import { mlxLoadError } from './mlx-load-error';

function loadMlx(): typeof Mlx {
  const id = process.env.MLX_BATCH_MLX_MODULE || '@frost-beta/mlx';
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the module id can be set (MLX_BATCH_MLX_MODULE)
    return require(id) as typeof Mlx;
  } catch (e) {
    let binary: string | undefined;
    try {
      binary = path.join(path.dirname(require.resolve(`${id}/package.json`)), 'build', 'Release', 'mlx.node');
    } catch {
      // not resolvable: the message says so
    }
    throw mlxLoadError(e, binary);
  }
}

export const cpuJit = setUpCpuJit();
const binding = loadMlx();

export const mx = binding.core;
export const nn = binding.nn;
export const optimizers = binding.optimizers;
export const utils = binding.utils;
/* eslint-disable @typescript-eslint/no-namespace -- the classes used as types, beside the values */
export declare namespace nn {
  type Module = Mlx.nn.Module;
  type Linear = Mlx.nn.Linear;
  type RMSNorm = Mlx.nn.RMSNorm;
  type Embedding = Mlx.nn.Embedding;
}
export declare namespace optimizers {
  type Optimizer = Mlx.optimizers.Optimizer;
  type AdamW = Mlx.optimizers.AdamW;
}
/* eslint-enable @typescript-eslint/no-namespace */
export type MxArray = Mlx.core.array;
export type Dtype = Mlx.core.Dtype;

export { blasShim };
