// Per-step cost of growing a KV cache by one column per layer (decode), for the choice in
// src/server/cache/batch-kv-cache.ts: concatenate a new array every step, indexPut_ into a
// preallocated buffer and hand attention a slice view, indexPut_ and hand attention the whole
// buffer under a mask, and the project's BatchKVCache itself. Each variant runs in a child
// process of its own (clean RSS), round by round interleaved; medians of the rounds.
//   npx tsc -p . && node --expose-gc out/bench/kv-cache-growth.js [--start 256] [--batch 8] [--rounds 3] [--steps 40] [--no-attn]
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { BatchKVCache } from '../src/server/cache/batch-kv-cache';
import { mx, type MxArray } from '../src/server/mlx';
import { median } from './lib/decode-loop';
import { benchMain } from './lib/run';

// The Qwen2.5-0.5B cache shape: 24 layers, 2 kv heads of 64; 14 query heads share them.
const LAYERS = 24;
const KV_HEADS = 2;
const HEAD_DIM = 64;
const Q_HEADS = 14;
const VARIANTS = ['concat', 'inplace-slice', 'inplace-full', 'batch-kv-cache'] as const;
type Variant = (typeof VARIANTS)[number];

interface Setup {
  start: number;
  batch: number;
  steps: number;
  attn: boolean;
}

interface Result {
  msPerStep: number;
  rssMb: number;
}

const gc = (): void => (globalThis as { gc?: () => void }).gc?.();
const randn = (shape: number[]): MxArray => mx.random.normal(shape);

/** One step's update of layer l with `k`/`v` ([B, H, 1, D]); returns the keys and values attention reads, and its mask. */
type Grower = (l: number, k: MxArray, v: MxArray) => [MxArray, MxArray, MxArray | undefined];

function makeGrower(variant: Variant, s: Setup): { grow: Grower; begin: () => void; arrays: () => MxArray[] } {
  const { batch: b, start } = s;
  let len = start;
  if (variant === 'batch-kv-cache') {
    const cache = new BatchKVCache(LAYERS, new Array<number>(b).fill(0));
    cache.beginForward(start, mx.float32);
    for (let l = 0; l < LAYERS; l++) cache.updateAndFetch(l, randn([b, KV_HEADS, start, HEAD_DIM]), randn([b, KV_HEADS, start, HEAD_DIM]));
    mx.eval(...cache.arrays());
    let mask: MxArray | undefined;
    return {
      // Grouped-query attention needs the 5-D mask [B, 1, 1, L, S] (as in model/llama.ts).
      begin: () => (mask = cache.beginForward(1, mx.float32).mask?.reshape([b, 1, 1, 1, -1])),
      grow: (l, k, v) => [...cache.updateAndFetch(l, k, v), mask],
      arrays: () => cache.arrays(),
    };
  }
  // concat holds exactly `len` columns; the in-place variants a buffer with room for every step.
  const capacity = variant === 'concat' ? start : start + s.steps;
  const keys: MxArray[] = [];
  const values: MxArray[] = [];
  for (let l = 0; l < LAYERS; l++) {
    const fill = (): MxArray => {
      const a = mx.zeros([b, KV_HEADS, capacity, HEAD_DIM]);
      a.indexPut_([mx.Slice(), mx.Slice(), mx.Slice(0, start)], randn([b, KV_HEADS, start, HEAD_DIM]));
      return a;
    };
    keys.push(fill());
    values.push(fill());
  }
  mx.eval(...keys, ...values);
  let mask: MxArray | undefined;
  return {
    begin: () => {
      len += 1;
      if (variant === 'inplace-full') {
        const visible = mx.less(mx.arange(0, capacity, 1, mx.int32), mx.array(len, mx.int32));
        mask = mx.where(visible, mx.array(0), mx.array(-1e9)).reshape([1, 1, 1, 1, capacity]);
      }
    },
    grow: (l, k, v) => {
      if (variant === 'concat') {
        keys[l] = mx.concatenate([keys[l], k], 2);
        values[l] = mx.concatenate([values[l], v], 2);
        return [keys[l], values[l], undefined];
      }
      const at = [mx.Slice(), mx.Slice(), mx.Slice(len - 1, len)];
      keys[l].indexPut_(at, k);
      values[l].indexPut_(at, v);
      if (variant === 'inplace-full') return [keys[l], values[l], mask];
      const cols = [mx.Slice(), mx.Slice(), mx.Slice(0, len)];
      return [keys[l].index(...cols), values[l].index(...cols), undefined];
    },
    arrays: () => [...keys, ...values],
  };
}

async function runVariant(variant: Variant, s: Setup): Promise<Result> {
  const g = makeGrower(variant, s);
  const q = randn([s.batch, Q_HEADS, 1, HEAD_DIM]);
  const times: number[] = [];
  for (let t = 0; t < s.steps; t++) {
    const news = Array.from({ length: LAYERS }, () => [randn([s.batch, KV_HEADS, 1, HEAD_DIM]), randn([s.batch, KV_HEADS, 1, HEAD_DIM])]);
    mx.eval(...news.flat());
    const t0 = performance.now();
    g.begin();
    const outs: MxArray[] = [];
    for (let l = 0; l < LAYERS; l++) {
      const [k, v, mask] = g.grow(l, news[l][0], news[l][1]);
      outs.push(s.attn ? mx.fast.scaledDotProductAttention(q, k, v, 1 / Math.sqrt(HEAD_DIM), mask) : mx.sum(k));
    }
    mx.eval(...outs, ...g.arrays());
    times.push(performance.now() - t0);
    if (t % 8 === 7) gc();
    await new Promise((r) => setImmediate(r));
  }
  return { msPerStep: median(times), rssMb: process.memoryUsage().rss / 1e6 };
}

async function main(): Promise<void> {
  const { values: f } = parseArgs({
    options: {
      start: { type: 'string', default: '256' },
      batch: { type: 'string', default: '8' },
      rounds: { type: 'string', default: '3' },
      steps: { type: 'string', default: '40' },
      'no-attn': { type: 'boolean', default: false },
      only: { type: 'string' },
      child: { type: 'string' },
    },
  });
  const setup: Setup = { start: Number(f.start), batch: Number(f.batch), steps: Number(f.steps), attn: !f['no-attn'] };
  if (f.child) {
    process.stdout.write(JSON.stringify(await runVariant(f.child as Variant, setup)));
    return;
  }
  const variants = f.only ? (f.only.split(',') as Variant[]) : [...VARIANTS];
  const results = new Map<Variant, Result[]>(variants.map((v) => [v, []]));
  const passOn = process.argv.slice(2);
  for (let r = 0; r < Number(f.rounds); r++) {
    for (const v of variants) {
      const out = execFileSync(process.execPath, ['--expose-gc', __filename, ...passOn, '--child', v], { encoding: 'utf8' });
      results.get(v)!.push(JSON.parse(out) as Result);
    }
  }
  console.log(`KV cache growth: ${LAYERS} layers, B ${setup.batch}, ${KV_HEADS} kv heads x ${HEAD_DIM}, from ${setup.start} columns, ` +
    `${setup.steps} steps${setup.attn ? ' incl. attention' : ''}; median of ${f.rounds} rounds`);
  for (const [v, rs] of results) {
    console.log(`${v.padEnd(16)} ${median(rs.map((x) => x.msPerStep)).toFixed(1).padStart(8)} ms/step  ${median(rs.map((x) => x.rssMb)).toFixed(0).padStart(6)} MB RSS`);
  }
}

benchMain(main);
