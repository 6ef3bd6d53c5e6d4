// Time to first token of the inline completion the extension sends (4,000 characters before the
// cursor and 1,500 after, cut at lines, `truncate_prompt: "left"`, interactive priority), through
// the real server over HTTP, on real source files (this repository's src/), each request at a new
// cursor so nothing comes from the prefix store. With --before DIR, the same requests also go to
// the server of another build (a checkout of an earlier commit, set up and compiled), rounds
// interleaved, so a change is measured side by side in one run. Medians; load average printed.
//   npx tsc -p . && node out/bench/fim-ttft.js [--model models/default] [--cases 8] [--rounds 3] [--before DIR]
// An earlier build to compare with (node_modules shared, its own BLAS shim and out/):
//   git worktree add /tmp/before COMMIT && ln -s "$PWD/node_modules" /tmp/before/node_modules
//   (cd /tmp/before && bash scripts/setup.sh && npx tsc -p .)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildFimContext } from '../src/shared/fim-context';
import { completionMode, stopStrings } from '../src/extension/completion/completion-mode';
import { percentile } from '../src/batching/stats';
import { startServer, streamCompletion, type ServerProcess } from './lib/server-process';
import { benchMain } from './lib/run';

const { values: opt } = parseArgs({
  options: {
    model: { type: 'string', default: 'models/default' },
    cases: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '3' },
    before: { type: 'string' },
  },
});
const CASES = Number(opt.cases);
const ROUNDS = Number(opt.rounds);
if (!Number.isInteger(CASES) || CASES < 1 || !Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error('--cases and --rounds take whole numbers >= 1');
const root = path.resolve(__dirname, '..', '..');
const before = opt.before ? path.resolve(opt.before) : undefined;
if (before && !fs.existsSync(path.join(before, 'out', 'src', 'cli', 'server', 'main.js'))) {
  throw new Error(`--before ${before}: no out/src/cli/server/main.js there (set it up and run npx tsc -p . in it)`);
}

interface FimCase {
  file: string;
  body: Record<string, unknown>;
}

/** Source files of at least 6,000 characters, then a cursor at a line start in each: `n` cases per round, new cursors every round. */
function cases(n: number, round: number): FimCase[] {
  const files = fs.readdirSync(path.join(root, 'src'), { recursive: true }).map(String)
    .filter((f) => f.endsWith('.ts')).sort()
    .map((f) => path.join('src', f))
    .filter((f) => fs.statSync(path.join(root, f)).size >= 6000);
  return Array.from({ length: n }, (_, i) => {
    const file = files[(i * 7 + round * 3) % files.length];
    const text = fs.readFileSync(path.join(root, file), 'utf8');
    // A line start between the first 4,000 and the last 1,500 characters, moved on each round.
    const at = 4000 + ((i * 977 + round * 613) % Math.max(1, text.length - 5500));
    const cursor = text.lastIndexOf('\n', at) + 1;
    const ctx = buildFimContext(text.slice(0, cursor), text.slice(cursor), 4000, 1500);
    const mode = completionMode(ctx.lineBefore, ctx.lineAfter);
    return { file, body: { prompt: ctx.prefix, suffix: ctx.suffix, max_tokens: 1, temperature: 0, stop: stopStrings(mode), truncate_prompt: 'left' } };
  });
}

async function timeCase(server: ServerProcess, c: FimCase): Promise<{ ms: number; promptTokens: number }> {
  const r = await streamCompletion(server.url, c.body, { 'x-mlx-batch-priority': 'interactive' });
  return { ms: r.ended - r.sent, promptTokens: r.usage?.prompt_tokens ?? 0 };
}

async function main(): Promise<void> {
  const model = path.resolve(opt.model);
  const load = os.loadavg()[0];
  const builds: { name: string; server: ServerProcess; ms: number[]; tokens: number[] }[] = [];
  builds.push({ name: 'this build', server: await startServer(model), ms: [], tokens: [] });
  if (before) {
    const main = path.join(before, 'out', 'src', 'cli', 'server', 'main.js');
    builds.push({ name: `before (${path.basename(before)})`, server: await startServer(model, [], {}, main), ms: [], tokens: [] });
  }
  try {
    // One request each first: the servers' first pass pays for kernel compilation and warm-up.
    for (const b of builds) await timeCase(b.server, cases(1, 99)[0]);
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? builds : [...builds].reverse();
      for (const c of cases(CASES, round)) {
        for (const b of order) {
          const r = await timeCase(b.server, c);
          b.ms.push(r.ms);
          b.tokens.push(r.promptTokens);
        }
      }
      process.stderr.write(`round ${round + 1}/${ROUNDS}: ${builds.map((b) => `${b.name} p50 ${percentile(b.ms, 50).toFixed(0)} ms`).join(', ')}\n`);
    }
  } finally {
    for (const b of builds) await b.server.stop();
  }
  const lines = [
    `${path.basename(model)}: the extension's inline-completion prompt (4,000 + 1,500 characters, truncate_prompt left), time to first token over HTTP, ${CASES} cursors x ${ROUNDS} rounds`,
    '| build | prompt tokens (median) | TTFT p50 | TTFT p90 |',
    '|---|---|---|---|',
    ...builds.map((b) => `| ${b.name} | ${percentile(b.tokens, 50).toFixed(0)} | ${percentile(b.ms, 50).toFixed(0)} ms | ${percentile(b.ms, 90).toFixed(0)} ms |`),
  ];
  if (builds.length === 2) lines.push(`before / this build (p50): ${(percentile(builds[1].ms, 50) / percentile(builds[0].ms, 50)).toFixed(2)}x`);
  lines.push(`load average (1 min) ${load.toFixed(1)} -> ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} CPUs`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

benchMain(main);
