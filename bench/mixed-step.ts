// One step of the engine the server runs (MlxEngine) with a decode row and k prompt tokens of a
// long prompt beside it, timed step by step: what a running chat's gap becomes while a long
// prompt is spread over its steps (the scheduler's decodeGapFactor decides k). Prints, for each
// k, the median and p99 step time, and build (JavaScript) against evaluation for one pass of
// the model at the same shapes. Run it with MLX_BATCH_COMPILE=0 beside the default to see what
// the compiled layers buy. The load average is printed.
//   npx tsc -p . && node --expose-gc out/bench/mixed-step.js [--model 0.5b|DIR] [--k 0,1,4,16] [--at 0,1200] [--steps 40]
import os from 'node:os';
import { parseArgs } from 'node:util';
import { GREEDY } from '../src/batching/request-types';
import { summarize } from '../src/batching/stats';
import { BatchKVCache } from '../src/server/cache/batch-kv-cache';
import { MlxEngine } from '../src/server/engine/mlx-engine';
import { ensureFixtureModel } from '../src/server/fixtures';
import { loadModel } from '../src/server/loader';
import { compileAvailable } from '../src/server/model/compiled';
import { mx } from '../src/server/mlx';
import type { LanguageModel } from '../src/server/model/types';
import { median, seededTokenIds } from './lib/decode-loop';
import { benchMain } from './lib/run';

const { values: opt } = parseArgs({
  options: {
    model: { type: 'string', default: '0.5b' },
    k: { type: 'string', default: '0,1,4,16' },
    at: { type: 'string', default: '0,1200' },
    steps: { type: 'string', default: '40' },
  },
});
const KS = opt.k.split(',').map(Number);
const ATS = opt.at.split(',').map(Number);
const STEPS = Number(opt.steps);
if (KS.some((k) => !Number.isInteger(k) || k < 0) || ATS.some((a) => !Number.isInteger(a) || a < 0) || !(STEPS >= 4)) {
  throw new Error('--k and --at whole numbers >= 0, --steps >= 4');
}

/** Milliseconds to build one pass (a 40-token row's next token and k prompt tokens at `at`), and to evaluate it. */
function buildAndEval(model: LanguageModel, k: number, at: number): { buildMs: number; evalMs: number } {
  const layers = model.args.numHiddenLayers;
  const vocab = model.args.vocabSize;
  const row = new BatchKVCache(layers);
  mx.eval(model.forward(mx.array([seededTokenIds(40, vocab, 1)], mx.int32), row, { lastOnly: true }), ...row.arrays());
  const long = new BatchKVCache(layers);
  const prompt = seededTokenIds(at + k, vocab, 2);
  for (let i = 0; i < at; i += 256) mx.eval(model.forward(mx.array([prompt.slice(i, Math.min(at, i + 256))], mx.int32), long, { lastOnly: true }), ...long.arrays());
  const build: number[] = [];
  const evaluate: number[] = [];
  for (let rep = 0; rep < 6; rep++) {
    const t0 = performance.now();
    const parts = [{ inputs: mx.array([[7]], mx.int32), cache: row }];
    if (k > 0) parts.push({ inputs: mx.array([prompt.slice(at, at + k)], mx.int32), cache: long });
    const steps = model.forwardSteps(parts, { pick: [0] });
    let r = steps.next();
    while (!r.done) r = steps.next();
    const t1 = performance.now();
    mx.eval(r.value, ...row.arrays(), ...long.arrays());
    const t2 = performance.now();
    row.discard(0, 1);
    if (k > 0) long.discard(0, k);
    if (rep === 0) continue;
    build.push(t1 - t0);
    evaluate.push(t2 - t1);
  }
  return { buildMs: median(build), evalMs: median(evaluate) };
}

async function main(): Promise<void> {
  const dir = opt.model === '0.5b' ? await ensureFixtureModel('llama', '0.5b') : opt.model;
  const loaded = await loadModel(dir);
  const vocab = loaded.model.args.vocabSize;
  const load = os.loadavg()[0];
  const lines = [
    `${loaded.id}: one decode row (a 32-token prompt) and k prompt tokens of a long prompt at offset \`at\`, ${STEPS} steps each (MlxEngine); compiled layers ${compileAvailable() ? 'on' : 'off'}`,
    '| at | k | step p50 | step p99 | one pass: build | one pass: evaluate |',
    '|---|---|---|---|---|---|',
  ];
  for (const at of ATS) {
    for (const k of KS) {
      const engine = new MlxEngine(loaded.model, { prefixCacheTokens: 0 });
      engine.add({ id: 'row', promptTokens: seededTokenIds(32, vocab, 1), sampling: GREEDY });
      await engine.step({ decode: [], prefill: [{ id: 'row', start: 0, end: 32 }] });
      const long = seededTokenIds(at + k * STEPS + 1, vocab, 2);
      engine.add({ id: 'long', promptTokens: long, sampling: GREEDY });
      for (let i = 0; i < at; i += 256) await engine.step({ decode: ['row'], prefill: [{ id: 'long', start: i, end: Math.min(at, i + 256) }] });
      for (let i = 0; i < 4; i++) await engine.step({ decode: ['row'], prefill: [] });
      const ms: number[] = [];
      for (let s = 0, done = at; s < STEPS; s++, done += k) {
        const t = performance.now();
        await engine.step({ decode: ['row'], prefill: k > 0 ? [{ id: 'long', start: done, end: done + k }] : [] });
        ms.push(performance.now() - t);
      }
      engine.release('row');
      engine.release('long');
      const { p50, p99 } = summarize(ms);
      const pass = buildAndEval(loaded.model, k, at);
      lines.push(`| ${at} | ${k} | ${p50.toFixed(1)} ms | ${p99.toFixed(1)} ms | ${pass.buildMs.toFixed(1)} ms | ${pass.evalMs.toFixed(1)} ms |`);
      process.stderr.write(`${lines.at(-1)}\n`);
    }
  }
  lines.push(`load average (1 min) ${load.toFixed(1)} -> ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} CPUs`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

benchMain(main);
