// Tokens/s through the HTTP server (streaming, concurrency 8) against the same benchmark run
// directly on the runner and engine in-process (the target: HTTP >= 95% of direct).
//   npx tsc -p . && node --expose-gc out/bench/http-vs-engine.js \
//     [--model DIR | --fixture qwen2:small] [--concurrency 8] [--max-tokens 64] [--requests 16] [--rounds 3]
//     [--server process|inline] [--json]
// The server runs as its own process (src/cli/server/main.ts, as the extension starts it); the
// direct run loads the same model here. Rounds alternate direct / HTTP; medians are reported.
import { parseArgs } from 'node:util';
import { runBenchmark, type BenchmarkTarget } from '../src/batching/benchmark/driver';
import { benchmarkPrompts } from '../src/batching/benchmark/prompts';
import { runnerTarget } from '../src/batching/benchmark/runner-target';
import { Runner } from '../src/batching/runner';
import { MlxEngine } from '../src/server/engine/mlx-engine';
import { ensureFixtureModel, type FixtureArch, type FixtureSize } from '../src/server/fixtures';
import { promptTokenizer } from '../src/server/load-service';
import { loadModel } from '../src/server/loader';
import { ServerState } from '../src/server/http/context';
import { RunnerService, type PromptTokenizer } from '../src/server/http/runner-service';
import { ApiServer } from '../src/server/http/server';
import { loadTokenizer } from '../src/server/tokenizer/tokenizer';
import { completionChunks, startServer } from './lib/server-process';
import { DEFAULT_BODY_LIMIT_BYTES, DEFAULT_COMPLETION_TOKENS, DEFAULT_STATS_INTERVAL_MS } from '../src/shared/server-defaults';
import { benchMain } from './lib/run';

const { values: opt } = parseArgs({
  options: {
    model: { type: 'string' },
    fixture: { type: 'string', default: 'qwen2:small' },
    concurrency: { type: 'string', default: '8' },
    'max-tokens': { type: 'string', default: '64' },
    requests: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
    // 'process': the server as its own process (as the extension runs it); 'inline': an HTTP
    // server in this process over the very runner of the direct run (isolates the HTTP cost).
    server: { type: 'string', default: 'process' },
  },
});
const CONCURRENCY = Number(opt.concurrency);
const MAX_TOKENS = Number(opt['max-tokens']);
const REQUESTS = Number(opt.requests ?? CONCURRENCY * 2);
const ROUNDS = Number(opt.rounds);
const PROMPTS = benchmarkPrompts(['short', 'medium']);

/** The server as a benchmark target: streaming completions, greedy, EOS ignored. */
function httpTarget(url: string): BenchmarkTarget {
  return {
    async *generate(prompt, maxTokens, signal) {
      let seen = 0;
      const body = { prompt, max_tokens: maxTokens, temperature: 0, ignore_eos: true };
      for await (const chunk of completionChunks(url, body, { 'x-mlx-batch-priority': 'background' }, signal)) {
        if (chunk.usage) {
          // Deltas with no text are not sent; usage settles the count.
          if (chunk.usage.completion_tokens > seen) yield chunk.usage.completion_tokens - seen;
          seen = chunk.usage.completion_tokens;
        } else if (chunk.choices?.[0]?.text) {
          seen += 1;
          yield 1;
        }
      }
    },
    peakMemoryMb: () => 0,
    resetPeakMemory: () => undefined,
  };
}

/** An HTTP server in this process over the given runner (same engine, same caches). */
async function startInline(runner: Runner, tokenizer: PromptTokenizer, id: string, contextLength: number): Promise<{ url: string; stop: () => Promise<void> }> {
  const state = new ServerState(id);
  state.ready(new RunnerService({ id, contextLength, created: Math.floor(Date.now() / 1000) }, runner, tokenizer, { backend: 'cpu', benchmarkConcurrency: [CONCURRENCY], benchmarkMaxTokens: MAX_TOKENS }));
  const quiet = { info: () => undefined, warn: (m: string) => console.error(m), error: (m: string) => console.error(m) };
  const api = new ApiServer(state, {
    token: undefined, bodyLimit: DEFAULT_BODY_LIMIT_BYTES, defaultCompletionTokens: DEFAULT_COMPLETION_TOKENS, statsIntervalMs: DEFAULT_STATS_INTERVAL_MS, allowedHosts: new Set(),
  }, quiet);
  const url = await api.listen('127.0.0.1', 0);
  return { url, stop: () => api.close() };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  let model = opt.model;
  if (!model) {
    const [arch, size] = opt.fixture!.split(':') as [FixtureArch, FixtureSize];
    model = await ensureFixtureModel(arch, size);
  }
  const loaded = await loadModel(model);
  const tokenizer = promptTokenizer(await loadTokenizer(loaded.dir, { config: loaded.config, generationConfig: loaded.generationConfig }));
  const engine = new MlxEngine(loaded.model);
  const runner = new Runner(engine, { maxBatch: CONCURRENCY });
  const direct = runnerTarget(runner, tokenizer, 'background');
  const server = opt.server === 'inline' ? await startInline(runner, tokenizer, loaded.id, engine.contextLength) : await startServer(model, ['--max-batch', String(CONCURRENCY)]);
  const http = httpTarget(server.url);
  const run = (target: BenchmarkTarget) => runBenchmark(target, { mode: 'batched', concurrency: CONCURRENCY, maxTokens: MAX_TOKENS, prompts: PROMPTS, requests: REQUESTS });
  // Warm both paths (first-call setup is not measured).
  await runBenchmark(direct, { mode: 'batched', concurrency: 2, maxTokens: 4, prompts: PROMPTS, requests: 2 });
  await runBenchmark(http, { mode: 'batched', concurrency: 2, maxTokens: 4, prompts: PROMPTS, requests: 2 });
  const rounds: { direct: number; http: number }[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const d = await run(direct);
    const h = await run(http);
    rounds.push({ direct: d.tokensPerSecond, http: h.tokensPerSecond });
    if (!opt.json) console.error(`round ${r + 1}: direct ${d.tokensPerSecond.toFixed(1)} tok/s, http ${h.tokensPerSecond.toFixed(1)} tok/s (${d.totalTokens} / ${h.totalTokens} tokens)`);
  }
  await server.stop();
  const d = median(rounds.map((x) => x.direct));
  const h = median(rounds.map((x) => x.http));
  // Each round runs the two back to back, so the per-round ratio cancels slow drifts of a shared machine.
  const ratio = median(rounds.map((x) => x.http / x.direct));
  const result = { model: loaded.id, server: opt.server, concurrency: CONCURRENCY, maxTokens: MAX_TOKENS, requests: REQUESTS, rounds, directTokensPerSecond: d, httpTokensPerSecond: h, ratio };
  if (opt.json) console.log(JSON.stringify(result));
  else console.log(`${loaded.id}: direct ${d.toFixed(1)} tok/s, HTTP streaming ${h.toFixed(1)} tok/s at concurrency ${CONCURRENCY}; median per-round ratio ${(100 * ratio).toFixed(1)}% (target >= 95%)`);
}

benchMain(main);
