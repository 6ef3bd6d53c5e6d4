// What checking drafts costs in one step of the engine the server runs (MlxEngine): R decode rows,
// each with a draft of W tokens (every row padded to the longest, as the scheduler plans them),
// timed step by step. The scheduler sizes drafts from such times (src/batching/step-cost.ts):
// a decode-only step, plus a fixed part for checking drafts at all, plus a part per draft token.
// This prints the table it learns from, measured directly, rounds interleaved over the widths,
// medians. Drafts are random tokens (rejected), so every step checks the full width.
//   npx tsc -p . && node --expose-gc out/bench/draft-step.js [--model models/default|0.5b|DIR] [--rows 1,2,4,8] [--widths 0,1,2,3,5,7] [--context 200] [--steps 24] [--rounds 3]
import os from 'node:os';
import { parseArgs } from 'node:util';
import { GREEDY } from '../src/batching/request-types';
import { MlxEngine } from '../src/server/engine/mlx-engine';
import { ensureFixtureModel } from '../src/server/fixtures';
import { loadModel } from '../src/server/loader';
import { compileAvailable } from '../src/server/model/compiled';
import { median, seededTokenIds } from './lib/decode-loop';
import { benchMain } from './lib/run';

const { values: opt } = parseArgs({
  options: {
    model: { type: 'string', default: 'models/default' },
    rows: { type: 'string', default: '1,2,4,8' },
    widths: { type: 'string', default: '0,1,2,3,5,7' },
    context: { type: 'string', default: '200' },
    steps: { type: 'string', default: '24' },
    rounds: { type: 'string', default: '3' },
  },
});
const list = (s: string) => s.split(',').map(Number);
const ROWS = list(opt.rows);
const WIDTHS = list(opt.widths);
const CONTEXT = Number(opt.context);
const STEPS = Number(opt.steps);
const ROUNDS = Number(opt.rounds);
if ([...ROWS, ...WIDTHS].some((n) => !Number.isInteger(n) || n < 0) || ROWS.includes(0) || !(CONTEXT >= 8) || !(STEPS >= 4) || !(ROUNDS >= 1)) {
  throw new Error('--rows whole numbers >= 1, --widths whole numbers >= 0, --context >= 8, --steps >= 4, --rounds >= 1');
}

async function main(): Promise<void> {
  const dir = opt.model === '0.5b' ? await ensureFixtureModel('llama', '0.5b') : opt.model;
  const loaded = await loadModel(dir);
  const vocab = loaded.model.args.vocabSize;
  const load = os.loadavg()[0];
  /** Step times by rows and width, over all rounds. */
  const times = new Map<string, number[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const rows of ROWS) {
      const engine = new MlxEngine(loaded.model, { prefixCacheTokens: 0 });
      const ids = Array.from({ length: rows }, (_, i) => `r${i}`);
      for (const [i, id] of ids.entries()) {
        engine.add({ id, promptTokens: seededTokenIds(CONTEXT, vocab, 10 + i), sampling: GREEDY });
        await engine.step({ decode: [], prefill: [{ id, start: 0, end: CONTEXT }] });
      }
      // Widths in a different order each round (the rows' contexts grow as steps run).
      const order = round % 2 === 0 ? WIDTHS : [...WIDTHS].reverse();
      for (const width of order) {
        // Every shape once untimed: a compiled pass traces its graph the first time.
        const draftsOf = (s: number) => (width === 0 ? undefined : new Map(ids.map((id, i) => [id, seededTokenIds(width, vocab, 1000 * s + i)])));
        for (let s = 0; s < 2; s++) await engine.step({ decode: ids, prefill: [], drafts: draftsOf(s) });
        const ms = times.get(`${rows}:${width}`) ?? [];
        for (let s = 0; s < STEPS; s++) {
          const t = performance.now();
          await engine.step({ decode: ids, prefill: [], drafts: draftsOf(s + 2) });
          ms.push(performance.now() - t);
        }
        times.set(`${rows}:${width}`, ms);
      }
      for (const id of ids) engine.release(id);
    }
    process.stderr.write(`round ${round + 1} of ${ROUNDS}\n`);
  }
  const lines = [
    `${loaded.id}: R decode rows at about ${CONTEXT} tokens of context, each checking a draft of W tokens (rejected), ${STEPS} steps x ${ROUNDS} rounds; median step, and what the drafts add (compiled layers ${compileAvailable() ? 'on' : 'off'})`,
    `| rows | ${WIDTHS.map((w) => `W=${w}`).join(' | ')} | per draft token (W max vs 1) |`,
    `|---|${WIDTHS.map(() => '---|').join('')}---|`,
  ];
  for (const rows of ROWS) {
    const med = (w: number) => median(times.get(`${rows}:${w}`) ?? [NaN]);
    const base = med(0);
    const cells = WIDTHS.map((w) => (w === 0 ? `${base.toFixed(1)} ms` : `${med(w).toFixed(1)} (+${(med(w) - base).toFixed(1)})`));
    const top = Math.max(...WIDTHS);
    const slope = WIDTHS.includes(1) && top > 1 ? (med(top) - med(1)) / (rows * (top - 1)) : NaN;
    lines.push(`| ${rows} | ${cells.join(' | ')} | ${slope.toFixed(2)} ms |`);
  }
  lines.push(`load average (1 min) ${load.toFixed(1)} -> ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} CPUs`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

benchMain(main);
