// The one place node-mlx is imported. Everything in src/server takes `mx`, `nn` and the
// array type from here, so the binding can be swapped or wrapped in one file.
// The BLAS shim must be loaded before node-mlx (see native/blas-shim.ts).
import { blasShim } from './native/blas-shim';
import { core, nn, optimizers, utils } from '@frost-beta/mlx';

export const mx = core;
export { nn, optimizers, utils };
export type MxArray = core.array;
export type Dtype = core.Dtype;

export { blasShim };
