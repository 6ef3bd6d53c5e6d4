// The server's skinny-gemm shim (src/server/native/blas-shim.ts), for benches that compare with
// and without it in one run. It loads itself before node-mlx (src/server/mlx.ts imports it first).
export { blasShim as skinnyGemm, type BlasShim as SkinnyGemm } from '../../src/server/native/blas-shim';
