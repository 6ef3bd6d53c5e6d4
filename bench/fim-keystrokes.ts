// Inline completions while the user types: how much of each fill-in-the-middle prompt the
// prefix store serves, and the time to first token, with the prompt in PSM order (prefix,
// suffix, middle) against SPM order (suffix, prefix, middle), side by side on one model.
// Each held-out case types its middle's first line anew, a few characters at a time; every stop
// sends what the extension sends (4,000 + 1,500 characters around the cursor, cut at lines)
// through the server's own prompt fitting (`truncate_prompt: "left"`) and runner, greedy.
//   npx tsc -p . && node --expose-gc out/bench/fim-keystrokes.js \
//     [--model models/default] [--cases 12] [--every 3] [--max-tokens 16] [--json]
import path from 'node:path';
import { parseArgs } from 'node:util';
import { percentile } from '../src/batching/stats';
import { buildFimContext } from '../src/extension/completion/fim-context';
import { promptTokenizer } from '../src/server/load-service';
import { openInference } from '../src/server/inference';
import { completionPrompt } from '../src/server/http/prompt';
import { RunnerService } from '../src/server/http/runner-service';
import { FIM_LAYOUTS, type FimLayout } from '../src/server/fim';
import { collectCorpus } from '../src/training/corpus';
import { heldOutFimCases, trainingRecord } from '../src/training/evaluate';

const { values: opt } = parseArgs({
  options: {
    model: { type: 'string', default: path.join('models', 'default') },
    cases: { type: 'string', default: '12' },
    every: { type: 'string', default: '3' },
    'max-tokens': { type: 'string', default: '16' },
    json: { type: 'boolean', default: false },
  },
});

const EXTENSION_CONTEXT = { prefixChars: 4000, suffixChars: 1500 };
const GREEDY = { temperature: 0, topP: 1, topK: 0 };

interface Sample { prompt: number; cached: number; ttftMs: number }

async function main(): Promise<void> {
  const inf = await openInference(opt.model);
  const model = { id: inf.loaded.id, contextLength: inf.engine.contextLength, created: 0 };
  const services = new Map(FIM_LAYOUTS.map((layout) => {
    const tok = inf.tokenizer.withTokenizerConfig({ fim_layout: layout });
    return [layout, new RunnerService(model, inf.runner, promptTokenizer(tok), { backend: 'cpu', benchmarkConcurrency: [1], benchmarkMaxTokens: 16 })];
  }));

  const rec = trainingRecord(inf.loaded.dir);
  const corpus = collectCorpus({ root: path.resolve('node_modules'), maxBytes: rec.corpusBytes, heldOutShare: rec.heldOutShare });
  const texts = new Map(corpus.heldOut.map((f) => [f.path, f.text]));
  const cases = heldOutFimCases(corpus.heldOut, Number(opt.cases), 7, EXTENSION_CONTEXT);
  const every = Number(opt.every);
  const maxTokens = Number(opt['max-tokens']);

  const samples = new Map<FimLayout, Sample[]>(FIM_LAYOUTS.map((l) => [l, []]));
  for (const [i, c] of cases.entries()) {
    const text = texts.get(c.file) ?? '';
    const at = text.indexOf(c.prefix + c.middle) + c.prefix.length;
    const line = c.middle.split('\n')[0];
    // Which layout types first alternates, so neither always meets a warmer machine.
    const order = i % 2 === 0 ? FIM_LAYOUTS : [...FIM_LAYOUTS].reverse();
    for (const layout of order) {
      const service = services.get(layout)!;
      for (let typed = 0; typed <= line.length; typed += every) {
        // The line is new text: what follows the cursor is what followed the line.
        const ctx = buildFimContext(text.slice(0, at) + line.slice(0, typed), text.slice(at + line.length),
          EXTENSION_CONTEXT.prefixChars, EXTENSION_CONTEXT.suffixChars);
        const fitted = completionPrompt(service, ctx.prefix, ctx.suffix, maxTokens, true, maxTokens);
        const t = performance.now();
        let ttftMs = NaN;
        let cached = 0;
        const params = { id: `k${i}-${layout}-${typed}`, promptTokens: fitted.tokens, maxTokens: fitted.maxTokens, sampling: GREEDY,
          stop: [], priority: 'interactive' as const, ignoreEos: true, fim: true, speculative: true };
        for await (const e of service.generate(params, new AbortController().signal)) {
          if (e.type === 'delta' && Number.isNaN(ttftMs)) ttftMs = performance.now() - t;
          if (e.type === 'finish') cached = e.usage.cachedTokens;
        }
        samples.get(layout)!.push({ prompt: fitted.tokens.length, cached, ttftMs });
      }
    }
  }

  const rows = FIM_LAYOUTS.map((layout) => {
    const s = samples.get(layout)!;
    const sum = (f: (x: Sample) => number) => s.reduce((a, x) => a + f(x), 0);
    const ttft = s.map((x) => x.ttftMs);
    return {
      layout, requests: s.length,
      promptTokens: sum((x) => x.prompt) / s.length,
      computedTokens: sum((x) => x.prompt - x.cached) / s.length,
      reusedShare: sum((x) => x.cached) / sum((x) => x.prompt),
      ttftMeanMs: sum((x) => x.ttftMs) / s.length,
      ttftP50Ms: percentile(ttft, 50),
      ttftP99Ms: percentile(ttft, 99),
    };
  });
  if (opt.json) {
    console.log(JSON.stringify({ model: inf.loaded.id, cases: cases.length, every, maxTokens, rows }, null, 2));
  } else {
    console.log(`${inf.loaded.id}: ${cases.length} held-out cases, a request every ${every} typed characters, ${maxTokens} tokens each`);
    console.log('layout  requests  prompt tok  computed tok  reused  ttft mean  ttft p50  ttft p99');
    for (const r of rows) {
      console.log(`${r.layout.padEnd(6)}  ${String(r.requests).padStart(8)}  ${r.promptTokens.toFixed(0).padStart(10)}  ${r.computedTokens.toFixed(0).padStart(12)}` +
        `  ${(100 * r.reusedShare).toFixed(1).padStart(5)}%  ${r.ttftMeanMs.toFixed(1).padStart(7)}ms  ${r.ttftP50Ms.toFixed(1).padStart(6)}ms  ${r.ttftP99Ms.toFixed(1).padStart(6)}ms`);
    }
    const [psm, spm] = rows;
    console.log(`SPM / PSM: computed prompt tokens ${(spm.computedTokens / psm.computedTokens).toFixed(2)}x, ttft mean ${(spm.ttftMeanMs / psm.ttftMeanMs).toFixed(2)}x, p50 ${(spm.ttftP50Ms / psm.ttftP50Ms).toFixed(2)}x`);
  }
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
