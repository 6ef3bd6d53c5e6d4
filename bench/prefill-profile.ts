// One prefill pass taken apart: the whole pass of T prompt tokens through the real model and KV
// cache (graph building in JavaScript and evaluation timed apart, gc after it), then each kind of
// work of that pass alone at its real shapes and weights (every matmul shape, attention, norms,
// RoPE, the SwiGLU and residual elementwise work, the cache update), times its count per pass.
// What the parts leave of the whole is the rest: copies of transposed views, allocation, graph
// scheduling. Medians of interleaved rounds; the load average is printed.
// Then, through the engine the server runs (Runner + MlxEngine, the scheduler's prompt chunks),
// time to first token with prompt passes evaluated every 4 layers and their intermediates released
// between (the default) against one graph per pass (reclaimEveryLayers 0), rounds interleaved.
//   npx tsc -p . && node --expose-gc out/bench/prefill-profile.js [--model 0.5b|small|tiny|default|DIR] [--tokens 256,1024] [--rounds 5] [--parts false]
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { BatchKVCache } from '../src/server/cache/batch-kv-cache';
import { ensureFixtureModel } from '../src/server/fixtures';
import { FIXTURE_SIZES, type FixtureSize } from '../src/server/fixtures/presets';
import { loadModel, type LoadedModel } from '../src/server/loader';
import { MlxEngine } from '../src/server/engine/mlx-engine';
import { Runner } from '../src/batching/runner';
import { MemoryReclaimer } from '../src/server/memory';
import { mx, nn, type MxArray } from '../src/server/mlx';
import { Attention, Model as LlamaModelRoot, TransformerBlock } from '../src/server/model/llama';
import { RotaryEmbedding } from '../src/server/model/rope';
import { swiglu } from '../src/server/model/swiglu';
import { cpuAttentionRuns, scaledDotProductAttention } from '../src/server/model/sdpa';
import { median, randomTokens } from './lib/decode-loop';
import { benchMain } from './lib/run';

const { values: opt } = parseArgs({
  options: {
    model: { type: 'string', default: '0.5b' },
    tokens: { type: 'string', default: '256,1024' },
    rounds: { type: 'string', default: '5' },
    parts: { type: 'string', default: 'true' },
  },
});

interface Part {
  name: string;
  /** Times this work runs in one pass. */
  count: number;
  /** Floating-point operations of one run (matmuls and attention), for GFLOP/s. */
  flops?: number;
  /** Builds the work's graph and returns what to evaluate. */
  build: () => MxArray[];
}

/** Milliseconds of one evaluation of `build()`'s graph (inputs already evaluated). */
function timeOnce(build: () => MxArray[]): number {
  const t = performance.now();
  mx.eval(...build());
  return performance.now() - t;
}

async function modelDir(name: string): Promise<string> {
  if ((FIXTURE_SIZES as readonly string[]).includes(name)) return ensureFixtureModel('llama', name as FixtureSize);
  if (name === 'default') return path.resolve('models/default');
  return path.resolve(name);
}

function layerParts(model: LlamaModelRoot, block: TransformerBlock, t: number): Part[] {
  const a = model.args;
  const layers = a.numHiddenLayers;
  const d = a.hiddenSize;
  const hd = a.headDim;
  const rand = (shape: number[], seed: number) => {
    const x = mx.random.normal(shape, mx.float32, 0, 1, mx.random.key(seed));
    mx.eval(x);
    return x;
  };
  const x = rand([1, t, d], 1);
  const attn = block.selfAttn as Attention & { qProj: nn.Linear; kProj: nn.Linear; vProj: nn.Linear; oProj: nn.Linear };
  const linears: [string, nn.Linear, number][] = [
    ['q_proj', attn.qProj, d], ['k_proj', attn.kProj, d], ['v_proj', attn.vProj, d], ['o_proj', attn.oProj, a.numAttentionHeads * hd],
    ['gate_proj', block.mlp.gateProj, d], ['up_proj', block.mlp.upProj, d], ['down_proj', block.mlp.downProj, a.intermediateSize],
  ];
  const parts: Part[] = linears.map(([name, lin, k], i) => {
    const input = k === d ? x : rand([1, t, k], 10 + i);
    const n = lin.weight.shape[0];
    return { name: `matmul ${name} [${t}, ${k}] x [${k}, ${n}]`, count: layers, flops: 2 * t * k * n, build: () => [lin.forward(input)] };
  });
  // Attention as the model runs it (model/sdpa.ts): queries, keys and values [1, heads, T, hd] and
  // the causal mask of a fresh prompt from the batch cache.
  const q = rand([1, a.numAttentionHeads, t, hd], 20);
  const k = rand([1, a.numKeyValueHeads, t, hd], 21);
  const v = rand([1, a.numKeyValueHeads, t, hd], 22);
  const cache = new BatchKVCache(layers);
  const step = cache.beginForward(t, mx.float32);
  const mask = step.mask;
  if (mask) mx.eval(mask);
  const scale = Math.pow(hd, -0.5);
  // The cache hands attention its whole buffer: T columns rounded up to its capacity step.
  const keys = rand([1, a.numKeyValueHeads, cache.capacity, hd], 23);
  const values = rand([1, a.numKeyValueHeads, cache.capacity, hd], 24);
  parts.push({
    name: `attention (${cpuAttentionRuns() ? 'compiled pieces' : "MLX's sdpa"}, ${a.numAttentionHeads} heads, ${t} x ${t})`, count: layers, flops: 4 * a.numAttentionHeads * t * t * hd,
    build: () => [scaledDotProductAttention(q, keys, values, scale, mask)],
  });
  const rope = new RotaryEmbedding(hd, a.ropeTheta, a.ropeScaling);
  const tables = rope.tables(step.positions, mx.float32);
  mx.eval(tables.cos, tables.sin);
  parts.push({ name: 'RoPE (queries and keys)', count: layers, build: () => [rope.apply(q, tables), rope.apply(k, tables)] });
  const norm = block.inputLayernorm;
  parts.push({ name: `RMSNorm [${t}, ${d}]`, count: 2 * layers + 1, build: () => [norm.forward(x)] });
  const g = rand([1, t, a.intermediateSize], 30);
  const u = rand([1, t, a.intermediateSize], 31);
  parts.push({ name: `SwiGLU [${t}, ${a.intermediateSize}]`, count: layers, build: () => [swiglu(g, u)] });
  const y = rand([1, t, d], 32);
  parts.push({ name: `residual add [${t}, ${d}]`, count: 2 * layers, build: () => [mx.add(x, y)] });
  parts.push({
    name: 'KV cache write (one layer)', count: layers,
    build: () => {
      const c = new BatchKVCache(layers);
      c.beginForward(t, mx.float32);
      return c.updateAndFetch(0, k, v);
    },
  });
  return parts;
}

async function main(): Promise<void> {
  const dir = await modelDir(opt.model);
  const loaded = await loadModel(dir);
  const rounds = Number(opt.rounds);
  const reclaim = new MemoryReclaimer();
  const a = loaded.model.args;
  console.log(`prefill profile: ${loaded.id} (${loaded.modelType}: D${a.hiddenSize} L${a.numHiddenLayers} H${a.numAttentionHeads} KVH${a.numKeyValueHeads} F${a.intermediateSize} V${a.vocabSize}), ${rounds} rounds, medians`);
  console.log(`load average before: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}; ${os.cpus().length} cores`);

  if (opt.parts !== 'false') await profileParts(loaded, rounds, reclaim);
  await compareReclaim(loaded, rounds);
  console.log(`\nload average after: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}

/** Time to first token through Runner + MlxEngine, every 4 layers released vs one graph, interleaved. */
async function compareReclaim(loaded: LoadedModel, rounds: number): Promise<void> {
  const a = loaded.model.args;
  const runners = [4, 0].map((every) => ({ every, runner: new Runner(new MlxEngine(loaded.model, { prefixCacheTokens: 0, reclaimEveryLayers: every })) }));
  console.log("\nthrough the engine (the scheduler's prompt chunks): time to first token, ms");
  console.log('| prompt tokens | released every 4 layers | one graph per pass | ratio |\n|---|---|---|---|');
  for (const t of opt.tokens.split(',').map(Number)) {
    const ms: number[][] = runners.map(() => []);
    for (let r = 0; r < rounds; r++) {
      for (const [i, { runner }] of runners.entries()) {
        const ids = Array.from({ length: t }, (_, k) => 3 + ((k * 7919 + r * 104729 + i) % (a.vocabSize - 3)));
        const t0 = performance.now();
        await runner.submit({ promptTokens: ids, maxTokens: 1, ignoreEos: true, sampling: { temperature: 0, topP: 1, topK: 0 } }).collect();
        ms[i].push(performance.now() - t0);
      }
    }
    const [on, off] = ms.map(median);
    console.log(`| ${t} | ${on.toFixed(0)} | ${off.toFixed(0)} | ${(off / on).toFixed(2)}x |`);
  }
}

async function profileParts(loaded: LoadedModel, rounds: number, reclaim: MemoryReclaimer): Promise<void> {
  const model = loaded.model as unknown as LlamaModelRoot;
  const block = model.model.layers[0];
  const a = model.args;
  for (const t of opt.tokens.split(',').map(Number)) {
    const prompt = randomTokens(t, a.vocabSize, t);
    mx.eval(prompt);
    const parts = layerParts(model, block, t);
    const whole = { build: [] as number[], eval: [] as number[], gc: [] as number[] };
    const partMs = parts.map(() => [] as number[]);
    const pass = () => {
      const cache = new BatchKVCache(a.numHiddenLayers);
      const t0 = performance.now();
      const logits = model.forward(prompt, cache, { lastOnly: true });
      const t1 = performance.now();
      mx.eval(logits, ...cache.arrays());
      const t2 = performance.now();
      return [t1 - t0, t2 - t1];
    };
    pass(); // warm-up
    for (const p of parts) timeOnce(p.build);
    reclaim.collect();
    for (let r = 0; r < rounds; r++) {
      await reclaim.releaseIntermediates();
      const [b, e] = pass();
      whole.build.push(b);
      whole.eval.push(e);
      const g0 = reclaim.gcMs;
      reclaim.collect();
      whole.gc.push(reclaim.gcMs - g0);
      for (const [i, p] of parts.entries()) {
        const ms: number[] = [];
        for (let k = 0; k < Math.min(p.count, 3); k++) {
          // The last run's outputs freed first (as the server frees a pass's intermediates), so
          // that each run writes to reused memory, not to fresh pages.
          await reclaim.releaseIntermediates();
          ms.push(timeOnce(p.build));
        }
        partMs[i].push(median(ms));
      }
      reclaim.collect();
    }
    const build = median(whole.build);
    const evalMs = median(whole.eval);
    const gcMs = median(whole.gc);
    const total = build + evalMs + gcMs;
    const rows: [string, number, string][] = [];
    let sum = 0;
    parts.forEach((p, i) => {
      const one = median(partMs[i]);
      const ms = one * p.count;
      sum += ms;
      const rate = p.flops ? `${((p.flops / one) / 1e6).toFixed(0)} GFLOP/s` : '';
      rows.push([`${p.name} x${p.count}`, ms, rate]);
    });
    rows.push(['graph building in JavaScript (model.forward, no eval)', build, '']);
    rows.push(['gc after the pass (MemoryReclaimer.collect)', gcMs, '']);
    rows.push(['rest of the evaluation (copies of transposed views, allocation, scheduling)', evalMs - sum, '']);
    const flops = parts.reduce((s, p) => s + (p.flops ?? 0) * p.count, 0);
    console.log(`\n${t} tokens: whole pass ${total.toFixed(0)} ms (${(t / (total / 1000)).toFixed(1)} tokens/s, ${(flops / (total / 1000) / 1e9).toFixed(0)} GFLOP/s over matmuls and attention)`);
    console.log('| work | ms per pass | share | rate |\n|---|---|---|---|');
    for (const [name, ms, rate] of rows) console.log(`| ${name} | ${ms.toFixed(1)} | ${((100 * ms) / total).toFixed(1)}% | ${rate} |`);
  }
}

benchMain(main);
