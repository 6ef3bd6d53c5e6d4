// One decode matmul, x[M,K] @ w[N,K]^T as MLX's Linear runs it, with the BLAS shim off (OpenBLAS
// sgemm) and on (its small-M kernel for M <= 48), side by side, for the Qwen2.5-0.5B shapes.
//   npx tsc -p . && node out/bench/small-m-gemm.js [--rows 1,2,4,8,16,32] [--reps 30]
import os from 'node:os';
import { parseArgs } from 'node:util';
import { blasShim, mx, type MxArray } from '../src/server/mlx';
import { benchMain } from './lib/run';

const { values: opt } = parseArgs({
  options: { rows: { type: 'string', default: '1,2,4,8,16,32' }, reps: { type: 'string', default: '30' } },
});
// [K, N]: gate/up, down, q/o projections.
const SHAPES: [number, number][] = [[896, 4864], [4864, 896], [896, 896]];

function timeMatmul(x: MxArray, w: MxArray, reps: number): number {
  for (let i = 0; i < 3; i++) mx.eval(mx.matmul(x, mx.transpose(w)));
  const t = performance.now();
  for (let i = 0; i < reps; i++) mx.eval(mx.matmul(x, mx.transpose(w)));
  return (performance.now() - t) / reps;
}

async function main(): Promise<void> {
  if (!blasShim) throw new Error('the BLAS shim is not loaded (Linux only; scripts/setup.sh builds build/native/skinny-gemm.node)');
  const reps = Number(opt.reps);
  console.log(`load average before: ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}; ${reps} repetitions`);
  console.log('K x N        rows   OpenBLAS sgemm        small-M kernel        ratio');
  for (const [k, n] of SHAPES) {
    const w = mx.random.normal([n, k], mx.float32, 0, 1, mx.random.key(1));
    mx.eval(w);
    for (const m of opt.rows.split(',').map(Number)) {
      const x = mx.random.normal([m, k], mx.float32, 0, 1, mx.random.key(2));
      mx.eval(x);
      const ms: number[] = [];
      for (const on of [false, true]) {
        blasShim.setEnabled(on);
        ms.push(timeMatmul(x, w, reps));
      }
      const cell = (t: number) => `${t.toFixed(3)} ms ${((2 * m * n * k) / t / 1e6).toFixed(0).padStart(4)} GF/s`.padEnd(22);
      console.log(`${`${k} x ${n}`.padEnd(12)} ${String(m).padStart(4)}   ${cell(ms[0])}${cell(ms[1])}${(ms[0] / ms[1]).toFixed(2)}x`);
    }
  }
  blasShim.setEnabled(true);
  const [sgemv, passed, small] = blasShim.counts();
  console.log(`products: ${small} small-M kernel, ${sgemv} sgemv, ${passed} sgemm`);
}

benchMain(main);
