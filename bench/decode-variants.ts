// What makes decode of the Qwen2.5-0.5B shape (f32) fast in node-mlx: weight layout, q/k/v and
// gate/up fusion, the BLAS shim, OpenBLAS threads, asyncEval pipelining, gc frequency,
// at batch 1 (--set b1) or batch 8/16 (--set batched). Variants run interleaved, round by round.
//   npx tsc -p . && node --expose-gc out/bench/decode-variants.js [--set b1|batched] [--rounds 5] [--tokens 8] [--only a,b]
import os from 'node:os';
import { parseArgs } from 'node:util';
import { MemoryReclaimer } from '../src/server/memory';
import { blasShim } from '../src/server/mlx';
import { median, randomTokens, timeDecode } from './lib/decode-loop';
import { QWEN25_05B, Qwen2Stack, randomWeights, stackSequence, weightBytesPerToken, type StackLayout } from './lib/qwen2-stack';
import { benchMain } from './lib/run';

interface Variant {
  name: string;
  layout: StackLayout;
  shim: boolean;
  threads?: number;
  pipeline?: boolean;
  gcEvery?: number;
  batch?: number;
}

const LIN: StackLayout = { layout: 'linear', fuse: false };
const PRE: StackLayout = { layout: 'pretransposed', fuse: false };
const LIN_F: StackLayout = { layout: 'linear', fuse: true };
const PRE_F: StackLayout = { layout: 'pretransposed', fuse: true };

const SETS: Record<string, Variant[]> = {
  b1: [
    { name: 'linear sgemm', layout: LIN, shim: false },
    { name: 'linear shim', layout: LIN, shim: true },
    { name: 'pretransposed sgemm', layout: PRE, shim: false },
    { name: 'pretransposed shim', layout: PRE, shim: true },
    { name: 'linear+fused shim', layout: LIN_F, shim: true },
    { name: 'pretransposed+fused sgemm', layout: PRE_F, shim: false },
    { name: 'linear shim 1-thread', layout: LIN, shim: true, threads: 1 },
    { name: 'linear shim pipelined', layout: LIN, shim: true, pipeline: true },
    { name: 'linear shim gc-every-1', layout: LIN, shim: true, gcEvery: 1 },
    { name: 'linear shim gc-every-32', layout: LIN, shim: true, gcEvery: 32 },
  ],
  batched: [8, 16].flatMap((batch) => [
    { name: `B=${batch} linear`, layout: LIN, shim: true, batch },
    { name: `B=${batch} pretransposed`, layout: PRE, shim: true, batch },
    { name: `B=${batch} linear+fused`, layout: LIN_F, shim: true, batch },
    { name: `B=${batch} linear 1-thread`, layout: LIN, shim: true, batch, threads: 1 },
  ]),
};

const { values: opt } = parseArgs({
  options: {
    set: { type: 'string', default: 'b1' },
    rounds: { type: 'string', default: '5' },
    tokens: { type: 'string', default: '8' },
    only: { type: 'string' },
  },
});


async function main(): Promise<void> {
  const only = opt.only?.split(',');
  const variants = (SETS[opt.set] ?? []).filter((v) => (!only || only.some((o) => v.name.includes(o))) && (blasShim || !v.shim && !v.threads));
  if (variants.length === 0) throw new Error(`no variants (set ${opt.set}; shim ${blasShim ? 'loaded' : 'absent'})`);
  const rounds = Number(opt.rounds), tokens = Number(opt.tokens);
  const weights = randomWeights(QWEN25_05B);
  const bytes = weightBytesPerToken(weights);
  const stacks = new Map<string, Qwen2Stack>();
  const stackFor = (l: StackLayout): Qwen2Stack => {
    const key = `${l.layout}/${l.fuse}`;
    let s = stacks.get(key);
    if (!s) stacks.set(key, (s = new Qwen2Stack(weights, l)));
    return s;
  };
  const results = new Map<string, { tokS: number[]; build: number[]; gc: number[] }>();
  const reclaimers = new Map<string, MemoryReclaimer>();
  console.log(`load average before: ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}; ${rounds} rounds x ${tokens} tokens, interleaved`);
  for (let r = 0; r < rounds; r++) {
    for (const v of variants) {
      blasShim?.setEnabled(v.shim);
      blasShim?.setBlasThreads(v.threads ?? os.cpus().length);
      const reclaim = reclaimers.get(v.name) ?? new MemoryReclaimer(v.gcEvery ?? 8);
      reclaimers.set(v.name, reclaim);
      const batch = v.batch ?? 1;
      const d = await timeDecode(stackSequence(stackFor(v.layout)), randomTokens(16, QWEN25_05B.vocab, r + 1, batch), tokens, reclaim, v.pipeline);
      const total = d.msPerToken.reduce((a, b) => a + b, 0);
      const res = results.get(v.name) ?? { tokS: [], build: [], gc: [] };
      res.tokS.push((1000 * batch) / median(d.msPerToken));
      if (d.buildMs.length) res.build.push(median(d.buildMs));
      res.gc.push((100 * d.gcMs) / total);
      results.set(v.name, res);
      reclaim.collect();
    }
  }
  blasShim?.setEnabled(true);
  blasShim?.setBlasThreads(os.cpus().length);
  for (const v of variants) {
    const r = results.get(v.name);
    if (!r) continue;
    const m = median(r.tokS);
    const gbs = (m / (v.batch ?? 1)) * bytes / 1e9;
    console.log(`${v.name.padEnd(28)} ${m.toFixed(2).padStart(7)} tok/s median (best ${Math.max(...r.tokS).toFixed(2)}; all ${r.tokS.map((x) => x.toFixed(2)).join(' ')})`
      + `  weights ${gbs.toFixed(1)} GB/s  graph build ${r.build.length ? median(r.build).toFixed(1) : '-'} ms/token  gc ${median(r.gc).toFixed(1)}%`);
  }
  console.log(`load average after: ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
}

benchMain(main);
