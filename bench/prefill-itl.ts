// A running chat's inter-token latency while a long completion prompt is prefilled, through the
// engine the server runs (Runner + MlxEngine). The chat (normal priority) streams alone for a
// while, then a prompt of --long tokens arrives (--priority, default interactive: a completion's
// context); the chat's gaps between tokens while that prompt is computed are compared with its
// gaps alone, per setting of the scheduler's decodeGapFactor (0 = only the step budget limits a
// chunk; interactive prompts are never limited by it). The long prompt's time to first token is
// printed beside, and alone: what the chat costs it. The chat's gaps alone are --alone gaps (100:
// enough for a p99; on a 2-core machine the gaps alone already vary by 2x in bursts), and the
// gaps during the prompt are compared with them percentile for percentile (p99 with p99) and,
// more strictly, p99 during with p50 alone. Rounds interleave the settings; medians; the load
// average is printed.
//   npx tsc -p . && node --expose-gc out/bench/prefill-itl.js [--model 0.5b|DIR] [--long 1500] [--gap 0,1.5,2] [--rounds 3] [--priority normal]
import os from 'node:os';
import { parseArgs } from 'node:util';
import { GREEDY } from '../src/batching/request-types';
import { PRIORITY_CLASSES, type PriorityClass } from '../src/shared/protocol';
import { Runner } from '../src/batching/runner';
import { summarize } from '../src/batching/stats';
import { MlxEngine } from '../src/server/engine/mlx-engine';
import { ensureFixtureModel } from '../src/server/fixtures';
import { loadModel } from '../src/server/loader';
import { median, seededTokenIds } from './lib/decode-loop';
import { benchMain } from './lib/run';

const { values: opt } = parseArgs({
  options: {
    model: { type: 'string', default: '0.5b' },
    long: { type: 'string', default: '1500' },
    gap: { type: 'string', default: '0,1.5,2' },
    rounds: { type: 'string', default: '3' },
    alone: { type: 'string', default: '100' },
    priority: { type: 'string', default: 'interactive' },
  },
});
const LONG = Number(opt.long);
const GAP = opt.gap.split(',').map(Number);
const ROUNDS = Number(opt.rounds);
const ALONE = Number(opt.alone);
const PRIORITY = opt.priority as PriorityClass;
if (!PRIORITY_CLASSES.includes(PRIORITY)) throw new Error(`--priority is one of ${PRIORITY_CLASSES.join(', ')}`);
if (!(LONG >= 16) || GAP.some((n) => !(n === 0 || n > 1)) || !(ROUNDS >= 1) || !(ALONE >= 4)) {
  throw new Error('--long >= 16, --gap factors 0 or > 1, --rounds >= 1, --alone >= 4');
}

interface Round {
  aloneMs: number[];
  duringMs: number[];
  longTtftMs: number;
}

async function round(runner: Runner, vocab: number, seed: number): Promise<Round> {
  const chat = runner.submit({ promptTokens: seededTokenIds(32, vocab, seed), maxTokens: 100_000, sampling: GREEDY, ignoreEos: true, priority: 'normal' });
  const times: number[] = [];
  let longAt = 0;
  let longFirst = 0;
  let started!: () => void;
  const aloneDone = new Promise<void>((resolve) => (started = resolve));
  const chatLoop = (async () => {
    for await (const ev of chat) {
      if (ev.type !== 'delta') continue;
      times.push(performance.now());
      if (times.length === ALONE + 2) started();
      if (longFirst > 0) break;
    }
  })();
  await aloneDone;
  longAt = performance.now();
  const long = runner.submit({ promptTokens: seededTokenIds(LONG, vocab, seed + 1), maxTokens: 1, sampling: GREEDY, ignoreEos: true, priority: PRIORITY });
  for await (const ev of long) if (ev.type === 'delta' && longFirst === 0) longFirst = performance.now();
  await chatLoop;
  await runner.idle();
  const gaps = times.slice(1).map((t, i) => ({ at: t, ms: t - times[i] }));
  return {
    // The first gaps hold the chat's own prefill and warm-up.
    aloneMs: gaps.filter((g) => g.at <= longAt).slice(2).map((g) => g.ms),
    duringMs: gaps.filter((g) => g.at > longAt && g.at <= longFirst).map((g) => g.ms),
    longTtftMs: longFirst - longAt,
  };
}

async function main(): Promise<void> {
  const dir = opt.model === '0.5b' ? await ensureFixtureModel('llama', '0.5b') : opt.model;
  const loaded = await loadModel(dir);
  const vocab = loaded.model.args.vocabSize;
  const runners = GAP.map((n) => ({ n, runner: new Runner(new MlxEngine(loaded.model, { prefixCacheTokens: 0 }), { decodeGapFactor: n }) }));
  const load = os.loadavg()[0];
  const results = new Map<number, Round[]>();
  const aloneTtft: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    // The same prompt with nothing running beside it: what the chat's presence costs the prompt.
    const t0 = performance.now();
    await runners[0].runner.submit({ promptTokens: seededTokenIds(LONG, vocab, 1000 * r + 7), maxTokens: 1, sampling: GREEDY, ignoreEos: true, priority: PRIORITY }).collect();
    aloneTtft.push(performance.now() - t0);
    process.stderr.write(`round ${r + 1}/${ROUNDS}: the prompt alone, first token ${aloneTtft.at(-1)!.toFixed(0)} ms\n`);
    for (const { n, runner } of r % 2 === 0 ? runners : [...runners].reverse()) {
      const res = await round(runner, vocab, 1000 * r + n);
      (results.get(n) ?? results.set(n, []).get(n)!).push(res);
      const alone = summarize(res.aloneMs), during = summarize(res.duringMs);
      process.stderr.write(`round ${r + 1}/${ROUNDS} gap factor ${n}: chat gaps alone p50 ${alone.p50.toFixed(0)} p99 ${alone.p99.toFixed(0)} ms, during the prompt p50 ${during.p50.toFixed(0)} p99 ${during.p99.toFixed(0)} ms (${res.duringMs.length} gaps); prompt's first token ${res.longTtftMs.toFixed(0)} ms\n`);
    }
  }
  const lines = [
    `${loaded.id}: a chat streaming while a ${LONG}-token ${PRIORITY} prompt is prefilled (Runner + MlxEngine), medians of ${ROUNDS} rounds`,
    '| decodeGapFactor | chat gap alone: p50 | alone: p99 | during: p50 | during: p99 | p99 during / p99 alone | p99 during / p50 alone | prompt time to first token |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const { n } of runners) {
    const rs = results.get(n)!;
    const alone = median(rs.map((x) => summarize(x.aloneMs).p50));
    const alone99 = median(rs.map((x) => summarize(x.aloneMs).p99));
    const p50 = median(rs.map((x) => summarize(x.duringMs).p50));
    const p99 = median(rs.map((x) => summarize(x.duringMs).p99));
    lines.push(`| ${n === 0 ? '0 (step budget only)' : n} | ${alone.toFixed(0)} ms | ${alone99.toFixed(0)} ms | ${p50.toFixed(0)} ms | ${p99.toFixed(0)} ms | ${(p99 / alone99).toFixed(2)}x | ${(p99 / alone).toFixed(2)}x | ${(median(rs.map((x) => x.longTtftMs)) / 1000).toFixed(2)} s |`);
  }
  lines.push(`the prompt alone (nothing decoding beside it): first token ${(median(aloneTtft) / 1000).toFixed(2)} s`);
  lines.push(`load average (1 min) ${load.toFixed(1)} -> ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} CPUs`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

benchMain(main);
