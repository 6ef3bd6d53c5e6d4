// One decode matmul, x[M,K] @ w[N,K]^T as MLX's Linear runs it, with the BLAS shim off (OpenBLAS
// sgemm) and on (its small-M kernel for M <= 48), side by side, for the Qwen2.5-0.5B shapes.
// With --stream, the kernel alone over the weights of a whole decode step instead (24 layers of
// those products, 1.4 GB, read from memory as decode reads them, not from cache): milliseconds per
// step and the rate the weights were read at, against this machine's measured read bandwidth.
//   npx tsc -p . && node out/bench/small-m-gemm.js [--rows 1,2,4,8,16,32] [--reps 30] [--stream]
import os from 'node:os';
import { parseArgs } from 'node:util';
import { blasShim, mx, type MxArray } from '../src/server/mlx';
import { measureReadBandwidth } from './lib/bandwidth';
import { benchMain } from './lib/run';

const { values: opt } = parseArgs({
  options: { rows: { type: 'string', default: '1,2,4,8,16,32' }, reps: { type: 'string', default: '30' }, stream: { type: 'boolean', default: false } },
});
// [K, N]: gate/up, down, q/o projections.
const SHAPES: [number, number][] = [[896, 4864], [4864, 896], [896, 896]];

function timeMatmul(x: MxArray, w: MxArray, reps: number): number {
  for (let i = 0; i < 3; i++) mx.eval(mx.matmul(x, mx.transpose(w)));
  const t = performance.now();
  for (let i = 0; i < reps; i++) mx.eval(mx.matmul(x, mx.transpose(w)));
  return (performance.now() - t) / reps;
}

const LAYERS = 24;

/** Every product of a decode step of M rows over the 24 layers' weights, timed per step (median of `reps`). */
async function streamed(reps: number): Promise<void> {
  const bw = await measureReadBandwidth();
  console.log(`load average before: ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}; read bandwidth ${bw.gibPerSec.toFixed(1)} GiB/s best, ${bw.medianGibPerSec.toFixed(1)} median (${bw.method}); median of ${reps} steps`);
  // q, k, v, o, gate, up, down of the 0.5b shape ([N, K] each), LAYERS times.
  const layer: [number, number][] = [[896, 896], [128, 896], [128, 896], [896, 896], [4864, 896], [4864, 896], [896, 4864]];
  const weights = Array.from({ length: LAYERS }, (_, l) => layer.map(([n, k], i) => mx.random.normal([n, k], mx.float32, 0, 1, mx.random.key(100 + 7 * l + i))));
  weights.forEach((ws) => mx.eval(...ws));
  const bytes = weights.flat().reduce((sum, w) => sum + w.size * 4, 0);
  console.log('rows   ms per step   weights read at   of the read bandwidth (best)');
  for (const m of opt.rows.split(',').map(Number)) {
    const xs = [896, 4864].map((k) => mx.random.normal([m, k], mx.float32, 0, 1, mx.random.key(m + k)));
    mx.eval(...xs);
    const ms: number[] = [];
    for (let r = 0; r < reps + 1; r++) {
      const t = performance.now();
      for (const ws of weights) mx.eval(...ws.map((w) => mx.matmul(xs[w.shape[1] === 896 ? 0 : 1], mx.transpose(w))));
      if (r > 0) ms.push(performance.now() - t);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const t = [...ms].sort((a, b) => a - b)[ms.length >> 1];
    const gbs = bytes / t / 1e6;
    console.log(`${String(m).padStart(4)}   ${t.toFixed(1).padStart(8)} ms   ${gbs.toFixed(1).padStart(8)} GB/s   ${((100 * gbs * 1e9) / (bw.gibPerSec * 2 ** 30)).toFixed(0).padStart(4)}%`);
  }
}

async function main(): Promise<void> {
  if (!blasShim) throw new Error('the BLAS shim is not loaded (Linux only; scripts/setup.sh builds build/native/skinny-gemm.node)');
  const reps = Number(opt.reps);
  if (opt.stream) return streamed(reps);
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
