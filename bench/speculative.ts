// Speculative decoding (prompt lookup, checked inside the batch) on against off, on the editor's
// three kinds of generation, one stream at a time and 8 at once, through the server's own
// prompt building and runner (RunnerService: tokenizer, chat template, FIM layout), greedy:
// The code comes from the held-out split of the shipped model's training corpus (TypeScript and
// JavaScript that the npm packages in node_modules ship, pinned by package-lock.json, never
// trained on), so the cases stay the same from one build of this repository to the next.
//   edit  rewrite a real function with an identifier renamed: the prompt holds
//         the function and asks for it again renamed (a completion prompt, which base code models
//         such as the shipped one follow), sent with OpenAI's `prediction` (the renamed code) as
//         editing clients send it;
//   fim   the extension's inline-completion request (4,000 + 1,500 characters around a cursor in
//         a real source file, interactive priority);
//   chat  free questions with nothing to copy.
// Rounds interleave on and off; figures are medians; greedy text on and off is compared (it must
// be identical); the acceptance rate and the load average are printed.
//   npx tsc -p . && node --expose-gc out/bench/speculative.js [--model models/default|0.5b|DIR]
//     [--workloads edit,fim,chat] [--concurrency 1,8] [--requests 8] [--max-tokens 96] [--rounds 3]
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { GenerationEvent } from '../src/batching/generation-stream';
import { buildFimContext } from '../src/shared/fim-context';
import { ensureFixtureModel } from '../src/server/fixtures';
import { completionPrompt } from '../src/server/http/prompt';
import { RunnerService } from '../src/server/http/runner-service';
import type { GenerationRequest } from '../src/server/http/service';
import { openInference } from '../src/server/inference';
import { shippedModel } from '../src/shared/shipped-model';
import { collectCorpus } from '../src/training/corpus';
import { trainingRecord } from '../src/training/evaluate';
import { promptTokenizer } from '../src/server/load-service';
import { median } from './lib/decode-loop';
import { benchMain } from './lib/run';

const { values: opt } = parseArgs({
  options: {
    model: { type: 'string', default: path.join('models', 'default') },
    workloads: { type: 'string', default: 'edit,fim,chat' },
    concurrency: { type: 'string', default: '1,8' },
    requests: { type: 'string', default: '8' },
    'max-tokens': { type: 'string', default: '96' },
    rounds: { type: 'string', default: '3' },
  },
});
const WORKLOADS = opt.workloads.split(',') as Workload[];
const CONCURRENCY = opt.concurrency.split(',').map(Number);
const REQUESTS = Number(opt.requests);
const MAX_TOKENS = Number(opt['max-tokens']);
const ROUNDS = Number(opt.rounds);
const GREEDY = { temperature: 0, topP: 1, topK: 0 };

type Workload = 'edit' | 'fim' | 'chat';
type Case = Omit<GenerationRequest, 'speculative'>;

/**
 * The held-out files of the shipped model's training corpus, in the corpus's fixed order: code the
 * shipped model never trained on, pinned by package-lock.json, the same for every build.
 */
function sources(): { file: string; text: string }[] {
  if (heldOut) return heldOut;
  const rec = trainingRecord(shippedModel(__dirname));
  const corpus = collectCorpus({ root: path.resolve('node_modules'), maxBytes: rec.corpusBytes, heldOutShare: rec.heldOutShare });
  heldOut = corpus.heldOut.filter((f) => /\.(ts|js|mjs)$/.test(f.path) && !f.path.endsWith('.d.ts')).map((f) => ({ file: f.path, text: f.text }));
  return heldOut;
}

/** The files read once: every workload draws its cases from them. */
let heldOut: { file: string; text: string }[] | undefined;

/** Every `n`-th of `items`, `count` of them, spread over the whole list. */
function spread<T>(items: T[], count: number): T[] {
  return Array.from({ length: count }, (_, i) => items[Math.floor(((i + 0.5) * items.length) / count)]);
}

/** A function-sized window of a file (from a line starting a declaration, about 30 lines). */
function snippet(text: string): string {
  const lines = text.split('\n');
  const start = Math.max(0, lines.findIndex((l, i) => i > lines.length / 3 && /^(export )?(async )?(function|class|const) /.test(l)));
  return lines.slice(start, start + 30).join('\n');
}

/** The identifier of 4+ letters used most often in `code`. */
function commonIdentifier(code: string): string {
  const counts = new Map<string, number>();
  for (const m of code.matchAll(/\b[a-z][A-Za-z]{3,}\b/g)) counts.set(m[0], (counts.get(m[0]) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0] ?? 'value';
}

const QUESTIONS = [
  'What is the difference between a process and a thread?',
  'Explain how a hash map handles collisions.',
  'Write a short poem about autumn in a city.',
  'Why do databases use write-ahead logging?',
  'What makes a good name for a variable?',
  'Describe how TCP congestion control works.',
  'What are the trade-offs of garbage collection?',
  'How would you explain recursion to a child?',
];

function cases(service: RunnerService, workload: Workload, n: number): Case[] {
  const files = sources();
  const base = (i: number) => ({ id: `${workload}-${i}`, maxTokens: MAX_TOKENS, sampling: GREEDY, stop: [], ignoreEos: false, fim: false });
  if (workload === 'chat') {
    return Array.from({ length: n }, (_, i) => ({ ...base(i), promptTokens: service.chatPrompt([{ role: 'user', content: QUESTIONS[i % QUESTIONS.length] }]), priority: 'normal' }));
  }
  if (workload === 'edit') {
    return spread(files, n).map(({ text }, i) => {
      const code = snippet(text);
      const from = commonIdentifier(code);
      const to = `${from}Next`;
      const renamed = code.replace(new RegExp(`\\b${from}\\b`, 'g'), to);
      const prompt = `// Original:\n${code}\n\n// The same code with \`${from}\` renamed to \`${to}\`:\n`;
      return { ...base(i), promptTokens: service.completionPrompt(prompt, undefined), priority: 'normal', prediction: renamed };
    });
  }
  return spread(files.filter((f) => f.text.length > 2000), n).map(({ text }, i) => {
    // A cursor at the start of a line about 60% into the file, as the extension builds the request.
    const at = text.indexOf('\n', Math.floor(text.length * 0.6)) + 1;
    const ctx = buildFimContext(text.slice(0, at), text.slice(at), 4000, 1500);
    const fitted = completionPrompt(service, ctx.prefix, ctx.suffix, MAX_TOKENS, true, MAX_TOKENS);
    return { ...base(i), promptTokens: fitted.tokens, maxTokens: fitted.maxTokens, priority: 'interactive', fim: true };
  });
}

interface Run { tokens: number; ms: number; texts: string[]; drafted: number; accepted: number }

async function collect(events: AsyncIterable<GenerationEvent>): Promise<{ text: string; tokens: number; drafted: number; accepted: number }> {
  let text = '';
  for await (const e of events) {
    if (e.type === 'delta') text += e.text;
    else return { text, tokens: e.usage.completionTokens, drafted: e.usage.acceptedDraftTokens + e.usage.rejectedDraftTokens, accepted: e.usage.acceptedDraftTokens };
  }
  return { text, tokens: 0, drafted: 0, accepted: 0 };
}

/** The cases `concurrency` at a time (each wave waits for the one before); greedy texts in case order. */
async function run(service: RunnerService, list: Case[], concurrency: number, speculative: boolean): Promise<Run> {
  const t0 = performance.now();
  const results: Awaited<ReturnType<typeof collect>>[] = [];
  for (let i = 0; i < list.length; i += concurrency) {
    const wave = list.slice(i, i + concurrency).map((c) => collect(service.generate({ ...c, speculative }, new AbortController().signal)));
    results.push(...(await Promise.all(wave)));
  }
  const ms = performance.now() - t0;
  return {
    tokens: results.reduce((a, r) => a + r.tokens, 0), ms, texts: results.map((r) => r.text),
    drafted: results.reduce((a, r) => a + r.drafted, 0), accepted: results.reduce((a, r) => a + r.accepted, 0),
  };
}

async function main(): Promise<void> {
  const dir = opt.model === '0.5b' ? await ensureFixtureModel('llama', '0.5b') : opt.model;
  const inf = await openInference(dir, { runner: { maxBatch: Math.max(8, ...CONCURRENCY) } });
  const model = { id: inf.loaded.id, contextLength: inf.engine.contextLength, created: 0 };
  const service = new RunnerService(model, inf.runner, promptTokenizer(inf.tokenizer), { backend: 'cpu', benchmarkConcurrency: [1], benchmarkMaxTokens: 16 });
  const load0 = os.loadavg()[0];
  console.log(`${inf.loaded.id}: speculative decoding on vs off, ${REQUESTS} requests of up to ${MAX_TOKENS} tokens, greedy, ${ROUNDS} rounds interleaved`);
  const rows: string[] = [];
  for (const workload of WORKLOADS) {
    const list = cases(service, workload, REQUESTS);
    for (const concurrency of CONCURRENCY) {
      const on: Run[] = [];
      const off: Run[] = [];
      let mismatches = 0;
      // Warm-up (the prefix store is off between runs: each run sees the prompts anew).
      await run(service, list.slice(0, 1), 1, true);
      for (let r = 0; r < ROUNDS; r++) {
        const order = r % 2 === 0 ? [true, false] : [false, true];
        for (const spec of order) {
          inf.engine.prefixStore.clear();
          const res = await run(service, list, concurrency, spec);
          (spec ? on : off).push(res);
        }
        const a = on[on.length - 1].texts;
        const b = off[off.length - 1].texts;
        mismatches += a.filter((t, i) => t !== b[i]).length;
        process.stderr.write(`${workload} x${concurrency} round ${r + 1}: on ${(on.at(-1)!.tokens / on.at(-1)!.ms * 1000).toFixed(1)} tok/s, off ${(off.at(-1)!.tokens / off.at(-1)!.ms * 1000).toFixed(1)} tok/s\n`);
      }
      const rate = (runs: Run[]) => median(runs.map((x) => (x.tokens / x.ms) * 1000));
      const ratios = on.map((x, i) => ((x.tokens / x.ms) / (off[i].tokens / off[i].ms)));
      const drafted = on.reduce((a, x) => a + x.drafted, 0);
      const accepted = on.reduce((a, x) => a + x.accepted, 0);
      const perRequest = on.reduce((a, x) => a + x.tokens, 0) / (on.length * list.length);
      rows.push(`| ${workload} | ${concurrency} | ${rate(off).toFixed(1)} | ${rate(on).toFixed(1)} | **${median(ratios).toFixed(2)}x** | ${drafted > 0 ? ((100 * accepted) / drafted).toFixed(0) : '-'}% of ${drafted} | ${(accepted / Math.max(1, on.reduce((a, x) => a + x.tokens, 0)) * 100).toFixed(0)}% | ${perRequest.toFixed(0)} | ${mismatches === 0 ? 'identical' : `${mismatches} differ`} |`);
    }
  }
  console.log('| workload | concurrency | off tok/s | on tok/s | on / off (median of rounds) | drafts accepted | output from drafts | tokens per request | greedy text on vs off |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
  console.log(`load average (1 min) ${load0.toFixed(1)} -> ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} CPUs`);
}

benchMain(main);
