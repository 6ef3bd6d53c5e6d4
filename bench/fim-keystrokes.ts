// Inline completions while the user types: how much of each fill-in-the-middle prompt the
// prefix store serves, and the time to first token. Two comparisons, side by side on one model:
//   layouts (default): the prompt in PSM order (prefix, suffix, middle) against SPM order
//     (suffix, prefix, middle);
//   --ring: no extra context against repository context, the model's own layout. The ring holds
//     pieces of other files of the case's package (the evaluation's, src/training/repo-context.ts);
//     before the case is typed it is warmed as the extension warms it while the user is idle (a
//     request with nothing to generate, background priority), then every keystroke carries it.
// Each held-out case types its middle's first line anew, a few characters at a time; every stop
// sends what the extension sends (4,000 + 1,500 characters around the cursor, cut at lines)
// through the server's own prompt fitting (`truncate_prompt: "left"`) and runner, greedy. Which
// mode types a case first alternates from case to case, and each starts it with an empty prefix
// store. The load average is printed.
//   npx tsc -p . && node --expose-gc out/bench/fim-keystrokes.js \
//     [--model models/default] [--ring] [--cases 12] [--every 3] [--max-tokens 16] [--cache-reuse 64] [--json]
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { percentile } from '../src/batching/stats';
import { buildFimContext } from '../src/shared/fim-context';
import { promptTokenizer } from '../src/server/load-service';
import { openInference } from '../src/server/inference';
import { completionPrompt, type ExtraContext } from '../src/server/http/prompt';
import { RunnerService } from '../src/server/http/runner-service';
import { FIM_LAYOUTS } from '../src/server/fim';
import { EDITOR_CACHE_REUSE } from '../src/shared/server-defaults';
import { collectCorpus } from '../src/training/corpus';
import { heldOutFimCases, trainingRecord } from '../src/training/evaluate';
import { repoContextFor } from '../src/training/repo-context';
import { benchMain } from './lib/run';

const { values: opt } = parseArgs({
  options: {
    model: { type: 'string', default: path.join('models', 'default') },
    ring: { type: 'boolean', default: false },
    cases: { type: 'string', default: '12' },
    every: { type: 'string', default: '3' },
    'max-tokens': { type: 'string', default: '16' },
    'cache-reuse': { type: 'string', default: String(EDITOR_CACHE_REUSE) },
    json: { type: 'boolean', default: false },
  },
});

const EXTENSION_CONTEXT = { prefixChars: 4000, suffixChars: 1500 };
const GREEDY = { temperature: 0, topP: 1, topK: 0 };

interface Sample { prompt: number; cached: number; ttftMs: number }
interface Mode { name: string; service: RunnerService; ring: boolean; samples: Sample[]; warmupComputed: number[] }

async function main(): Promise<void> {
  const inf = await openInference(opt.model, { engine: { cacheReuseTokens: Number(opt['cache-reuse']) } });
  const model = { id: inf.loaded.id, contextLength: inf.engine.contextLength, created: 0 };
  const serviceOf = (tok = inf.tokenizer) => new RunnerService(model, inf.runner, promptTokenizer(tok), { backend: 'cpu', benchmarkConcurrency: [1], benchmarkMaxTokens: 16 });
  const modes: Mode[] = opt.ring
    ? [{ name: 'none', service: serviceOf(), ring: false, samples: [], warmupComputed: [] }, { name: 'ring', service: serviceOf(), ring: true, samples: [], warmupComputed: [] }]
    : FIM_LAYOUTS.map((layout) => ({ name: layout, service: serviceOf(inf.tokenizer.withTokenizerConfig({ fim_layout: layout })), ring: false, samples: [], warmupComputed: [] }));

  const rec = trainingRecord(inf.loaded.dir);
  const corpus = collectCorpus({ root: path.resolve('node_modules'), maxBytes: rec.corpusBytes, heldOutShare: rec.heldOutShare });
  const files = [...corpus.train, ...corpus.heldOut];
  const texts = new Map(corpus.heldOut.map((f) => [f.path, f.text]));
  const cases = heldOutFimCases(corpus.heldOut, Number(opt.cases), 7, EXTENSION_CONTEXT);
  const every = Number(opt.every);
  const maxTokens = Number(opt['max-tokens']);
  const load0 = os.loadavg()[0];

  for (const [i, c] of cases.entries()) {
    const text = texts.get(c.file) ?? '';
    const at = text.indexOf(c.prefix + c.middle) + c.prefix.length;
    const line = c.middle.split('\n')[0];
    const ring: ExtraContext = { chunks: repoContextFor(c, files) };
    for (const mode of i % 2 === 0 ? modes : [...modes].reverse()) {
      const extra = mode.ring ? ring : undefined;
      // Each mode types the case from the same start: nothing of it in the prefix store (the other
      // mode's prompts hold the same text, which cache reuse would take at another position).
      inf.engine.prefixStore.clear();
      const run = async (id: string, prefix: string, suffix: string, tokens: number, priority: 'interactive' | 'background') => {
        const fitted = completionPrompt(mode.service, prefix, suffix, tokens, true, tokens, extra);
        const t = performance.now();
        let ttftMs = NaN;
        let cached = 0;
        const params = { id, promptTokens: fitted.tokens, maxTokens: fitted.maxTokens, sampling: GREEDY, stop: [], priority, ignoreEos: true, fim: true, speculative: true };
        for await (const e of mode.service.generate(params, new AbortController().signal)) {
          if (e.type === 'delta' && Number.isNaN(ttftMs)) ttftMs = performance.now() - t;
          if (e.type === 'finish') cached = e.usage.cachedTokens;
        }
        return { prompt: fitted.tokens.length, cached, ttftMs };
      };
      if (mode.ring) {
        // The extension's warm-up while the user is idle: the ring alone, nothing generated.
        const w = await run(`w${i}`, '', '', 0, 'background');
        mode.warmupComputed.push(w.prompt - w.cached);
      }
      for (let typed = 0; typed <= line.length; typed += every) {
        // The line is new text: what follows the cursor is what followed the line.
        const ctx = buildFimContext(text.slice(0, at) + line.slice(0, typed), text.slice(at + line.length),
          EXTENSION_CONTEXT.prefixChars, EXTENSION_CONTEXT.suffixChars);
        mode.samples.push(await run(`k${i}-${mode.name}-${typed}`, ctx.prefix, ctx.suffix, maxTokens, 'interactive'));
      }
    }
  }

  const rows = modes.map((m) => {
    const s = m.samples;
    const sum = (f: (x: Sample) => number) => s.reduce((a, x) => a + f(x), 0);
    const ttft = s.map((x) => x.ttftMs);
    return {
      mode: m.name, requests: s.length,
      promptTokens: sum((x) => x.prompt) / s.length,
      computedTokens: sum((x) => x.prompt - x.cached) / s.length,
      reusedShare: sum((x) => x.cached) / sum((x) => x.prompt),
      ttftMeanMs: sum((x) => x.ttftMs) / s.length,
      ttftP50Ms: percentile(ttft, 50),
      ttftP99Ms: percentile(ttft, 99),
      ...(m.ring ? { warmupComputedTokens: m.warmupComputed.reduce((a, b) => a + b, 0) / Math.max(1, m.warmupComputed.length) } : {}),
    };
  });
  const load = [load0, os.loadavg()[0]];
  if (opt.json) {
    console.log(JSON.stringify({ model: inf.loaded.id, cases: cases.length, every, maxTokens, cacheReuse: Number(opt['cache-reuse']), loadAverage: load, rows }, null, 2));
    return;
  }
  console.log(`${inf.loaded.id}: ${cases.length} held-out cases, a request every ${every} typed characters, ${maxTokens} tokens each; load average ${load.map((l) => l.toFixed(2)).join(' -> ')}`);
  console.log('mode    requests  prompt tok  computed tok  reused  ttft mean  ttft p50  ttft p99');
  for (const r of rows) {
    console.log(`${r.mode.padEnd(6)}  ${String(r.requests).padStart(8)}  ${r.promptTokens.toFixed(0).padStart(10)}  ${r.computedTokens.toFixed(0).padStart(12)}` +
      `  ${(100 * r.reusedShare).toFixed(1).padStart(5)}%  ${r.ttftMeanMs.toFixed(1).padStart(7)}ms  ${r.ttftP50Ms.toFixed(1).padStart(6)}ms  ${r.ttftP99Ms.toFixed(1).padStart(6)}ms`);
  }
  const [a, b] = rows;
  console.log(`${b.mode} / ${a.mode}: computed prompt tokens per keystroke ${(b.computedTokens / a.computedTokens).toFixed(2)}x, ttft mean ${(b.ttftMeanMs / a.ttftMeanMs).toFixed(2)}x, p50 ${(b.ttftP50Ms / a.ttftP50Ms).toFixed(2)}x, p99 ${(b.ttftP99Ms / a.ttftP99Ms).toFixed(2)}x`);
  if ('warmupComputedTokens' in b) console.log(`the ring's warm-up computed ${b.warmupComputedTokens!.toFixed(0)} tokens per case (background priority, while idle)`);
}

benchMain(main);
