// Batched decode tok/s of our engine (node-mlx, MlxEngine + Runner as the server runs them)
// against llama.cpp (node-llama-cpp, CPU) on the SAME random f32 llama weights, converted to GGUF.
//   bash bench/setup-llama-cpp.sh   # once: node-llama-cpp into bench/.deps (not in package.json)
//   npx tsc -p . && node --expose-gc out/bench/vs-llama-cpp.js \
//     [--shape small|0.5b] [--batch 1,4,8,16] [--tokens 64] [--prompt 32] [--rounds 3] [--threads 2[,1]] [--json]
//   node --expose-gc out/bench/vs-llama-cpp.js --mode prompt --shape 0.5b [--prompt-tokens 256,1024,2048] [--tokens 64]
// --mode prompt: time to first token per prompt length and single-stream decode, ours through the
// real server process over HTTP (bench/lib/prompt-vs-llama-cpp.ts).
// Decode tok/s = tokens generated after every request has its first token / time from then to
// the end (prefill excluded), the same on both sides. Before timing, greedy tokens of both
// engines are compared (same function: Q/K permuted for llama.cpp's RoPE). Rounds interleave
// the engines (order alternating) at every batch size; medians are reported. `--threads 1,2` adds a
// llama.cpp row per thread count (ggml's 2-thread barriers suffer most when the box is oversubscribed).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { benchmarkPrompts } from '../src/batching/benchmark/prompts';
import { GREEDY } from '../src/batching/request-types';
import { Runner } from '../src/batching/runner';
import { percentile } from '../src/batching/stats';
import { MlxEngine } from '../src/server/engine/mlx-engine';
import { ensureFixtureModel, fixtureName, type FixtureSize } from '../src/server/fixtures';
import { textParams } from '../src/server/inference';
import { loadModel } from '../src/server/loader';
import { MemoryReclaimer, hasGc } from '../src/server/memory';
import { loadTokenizer, type Tokenizer } from '../src/server/tokenizer/tokenizer';
import { LlamaCppBatch, openLlamaCpp } from './lib/llama-cpp-side';
import { runPromptComparison } from './lib/prompt-vs-llama-cpp';
import { writeLlamaGguf } from './lib/llama-gguf';
import { benchMain } from './lib/run';

const { values: opt } = parseArgs({
  options: {
    shape: { type: 'string', default: 'small' },
    batch: { type: 'string', default: '1,4,8,16' },
    tokens: { type: 'string', default: '64' },
    prompt: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '3' },
    threads: { type: 'string', default: '2' },
    'check-tokens': { type: 'string', default: '16' },
    json: { type: 'boolean', default: false },
    mode: { type: 'string', default: 'decode' },
    'prompt-tokens': { type: 'string', default: '256,1024,2048' },
  },
});
const SHAPE = opt.shape as FixtureSize;
const BATCHES = opt.batch.split(',').map(Number);
const TOKENS = Number(opt.tokens), PROMPT = Number(opt.prompt), ROUNDS = Number(opt.rounds);
const THREADS = opt.threads.split(',').map(Number);
const CHECK_TOKENS = Number(opt['check-tokens']);
if (SHAPE !== 'small' && SHAPE !== '0.5b') throw new Error('--shape is small or 0.5b');
if (opt.mode !== 'decode' && opt.mode !== 'prompt') throw new Error('--mode is decode or prompt');
const PROMPT_TOKENS = opt['prompt-tokens'].split(',').map(Number);
if (PROMPT_TOKENS.some((n) => !Number.isInteger(n) || n < 8)) throw new Error('--prompt-tokens takes whole numbers of at least 8');
if ([...BATCHES, ...THREADS].some((b) => !Number.isInteger(b) || b < 1) || !(TOKENS >= 2) || !(PROMPT >= 2) || !(ROUNDS >= 1)) {
  throw new Error('--batch and --threads take positive integers; --tokens and --prompt at least 2; --rounds at least 1');
}
const log = (s: string): void => void process.stderr.write(`${s}\n`);
const median = (xs: number[]): number => percentile(xs, 50);

/** `count` distinct prompts of exactly PROMPT tokens (BOS + code text), the same ids for both engines. */
function makePrompts(tokenizer: Tokenizer, count: number): number[][] {
  const stream = benchmarkPrompts().flatMap((p) => tokenizer.encode(p, { addSpecialTokens: false }));
  const bos = tokenizer.encode('', { addSpecialTokens: true });
  return Array.from({ length: count }, (_, i) => {
    const start = (i * 37) % (stream.length - PROMPT);
    return [...bos, ...stream.slice(start, start + PROMPT - bos.length)];
  });
}

interface Run {
  tokens: number[][];
  decodeMs: number;
  decodeTokens: number;
}

/** B greedy requests through the runner at once; decode time from the last first token to the end. */
async function mlxRun(runner: Runner, tokenizer: Tokenizer, prompts: readonly number[][], maxTokens: number): Promise<Run> {
  const streams = prompts.map((p) => runner.submit(textParams(tokenizer, { promptTokens: p, maxTokens, sampling: GREEDY, ignoreEos: true, priority: 'background' })));
  const times: number[][] = prompts.map(() => []);
  const tokens: number[][] = prompts.map(() => []);
  await Promise.all(streams.map(async (s, i) => {
    for await (const ev of s) {
      if (ev.type !== 'delta') continue;
      const t = performance.now();
      for (const tok of ev.tokens) {
        tokens[i].push(tok);
        times[i].push(t);
      }
    }
  }));
  const t0 = Math.max(...times.map((ts) => ts[0]));
  const t1 = Math.max(...times.map((ts) => ts[ts.length - 1]));
  const decodeTokens = times.reduce((n, ts) => n + ts.filter((t) => t > t0).length, 0);
  return { tokens, decodeMs: t1 - t0, decodeTokens };
}

function ggufFor(modelDir: string): string {
  const file = path.join(process.cwd(), '.cache', 'gguf', `${path.basename(modelDir)}.gguf`);
  const source = path.join(modelDir, 'config.json');
  if (!fs.existsSync(file) || fs.statSync(file).mtimeMs < fs.statSync(source).mtimeMs) {
    const t = performance.now();
    const bytes = writeLlamaGguf(modelDir, file);
    log(`wrote ${file} (${(bytes / 2 ** 20).toFixed(0)} MiB) in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  return file;
}

/** Tokens both engines agree on, from the start, per request. */
function agreement(a: number[][], b: number[][]): number[] {
  return a.map((row, i) => {
    let n = 0;
    while (n < row.length && row[n] === b[i][n]) n++;
    return n;
  });
}

async function main(): Promise<void> {
  if (!hasGc) log('warning: run node with --expose-gc (MLX frees memory only when JS wrappers are collected)');
  const modelDir = await ensureFixtureModel('llama', SHAPE);
  const gguf = ggufFor(modelDir);
  const loaded = await loadModel(modelDir);
  const tokenizer = await loadTokenizer(loaded.dir, { config: loaded.config, generationConfig: loaded.generationConfig });
  const args = loaded.args;
  const shape = `D${args.hiddenSize} L${args.numHiddenLayers} H${args.numAttentionHeads} KVH${args.numKeyValueHeads} F${String(loaded.config.intermediate_size)} V${args.vocabSize}`;
  if (opt.mode === 'prompt') {
    const llama = await openLlamaCpp(gguf, THREADS[0]);
    try {
      await runPromptComparison({ modelDir, model: fixtureName('llama', SHAPE), shape, tokenizer, llama, threads: THREADS[0], promptTokens: PROMPT_TOKENS, decodeTokens: TOKENS, rounds: ROUNDS, json: opt.json });
    } finally {
      await llama.dispose();
    }
    return;
  }
  const maxBatch = Math.max(...BATCHES, 4);
  const runner = new Runner(new MlxEngine(loaded.model), { maxBatch });
  const llama = await openLlamaCpp(gguf, Math.max(...THREADS));
  const contextSize = PROMPT + Math.max(TOKENS, CHECK_TOKENS) + 16;
  const prompts = makePrompts(tokenizer, maxBatch);
  const loadBefore = os.loadavg()[0];
  const reclaim = new MemoryReclaimer(1);
  const settle = async (): Promise<void> => {
    reclaim.collect();
    await new Promise((r) => setTimeout(r, 200));
  };

  // Same function on both sides: greedy tokens of 4 prompts, batched, must agree.
  const checkPrompts = prompts.slice(0, 4);
  const checkCtx = await LlamaCppBatch.create(llama.model, checkPrompts.length, contextSize, THREADS[0], PROMPT);
  const ours = await mlxRun(runner, tokenizer, checkPrompts, CHECK_TOKENS);
  const theirs = await checkCtx.generate(checkPrompts, CHECK_TOKENS);
  await checkCtx.dispose();
  const agree = agreement(ours.tokens, theirs.tokens);
  const check = { tokens: CHECK_TOKENS, agreedPrefix: agree, equal: agree.every((n) => n === CHECK_TOKENS) };
  log(`greedy check (${CHECK_TOKENS} tokens x ${checkPrompts.length} prompts): agreed prefix lengths ${agree.join(', ')}`);
  if (agree.some((n) => n === 0)) throw new Error(`llama.cpp and node-mlx disagree on the first token: ours ${JSON.stringify(ours.tokens)} theirs ${JSON.stringify(theirs.tokens)}`);

  const engines = ['mlx', ...THREADS.map((t) => `llama.cpp@${t}`)];
  const contexts = new Map<string, LlamaCppBatch>();
  for (const t of THREADS) for (const b of BATCHES) contexts.set(`${t}/${b}`, await LlamaCppBatch.create(llama.model, b, contextSize, t, PROMPT));
  const rates = new Map<string, number[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const b of BATCHES) {
      const order = round % 2 === 0 ? engines : [...engines].reverse();
      for (const engine of order) {
        await settle();
        const p = prompts.slice(0, b);
        const threads = engine.startsWith('llama.cpp@') ? Number(engine.slice('llama.cpp@'.length)) : 0;
        const run = threads === 0 ? await mlxRun(runner, tokenizer, p, TOKENS) : await contexts.get(`${threads}/${b}`)!.generate(p, TOKENS);
        const rate = run.decodeTokens / (run.decodeMs / 1000);
        (rates.get(`${engine}/${b}`) ?? rates.set(`${engine}/${b}`, []).get(`${engine}/${b}`)!).push(rate);
        log(`round ${round + 1}/${ROUNDS} B=${b} ${threads === 0 ? 'node-mlx' : `llama.cpp (${threads} threads)`} ${rate.toFixed(1)} tok/s (${run.decodeTokens} tokens in ${run.decodeMs.toFixed(0)} ms)`);
      }
    }
  }
  for (const c of contexts.values()) await c.dispose();
  await llama.dispose();

  const llamaRows = THREADS.map((threads) => ({ threads, tokensPerSecond: BATCHES.map((b) => median(rates.get(`llama.cpp@${threads}/${b}`)!)) }));
  const results = BATCHES.map((b, i) => ({
    batch: b,
    mlxTokensPerSecond: median(rates.get(`mlx/${b}`)!),
    mlxRounds: rates.get(`mlx/${b}`)!,
    llamaCpp: THREADS.map((threads, k) => ({ threads, tokensPerSecond: llamaRows[k].tokensPerSecond[i], rounds: rates.get(`llama.cpp@${threads}/${b}`)! })),
  }));
  const report = {
    model: fixtureName('llama', SHAPE),
    shape,
    // The 1-minute load average before and after: on a shared box it says how noisy the figures are.
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? '', memoryGb: Math.round(os.totalmem() / 2 ** 30), loadAverage: [loadBefore, os.loadavg()[0]] },
    llamaCpp: { package: `node-llama-cpp@${llama.version}`, threads: THREADS },
    tokens: TOKENS,
    promptTokens: PROMPT,
    rounds: ROUNDS,
    check,
    results: results.map((r) => ({ ...r, ratio: r.mlxTokensPerSecond / r.llamaCpp[0].tokensPerSecond })),
  };
  if (opt.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  const fmt = (x: number): string => x.toFixed(x < 10 ? 1 : 0);
  const lines = [
    `${report.model} (${shape}), f32, greedy, ${TOKENS} tokens/request after a ${PROMPT}-token prompt, decode tok/s, median of ${ROUNDS}`,
    `| engine | ${BATCHES.map((b) => `B=${b}`).join(' | ')} |`,
    `|---|${BATCHES.map(() => '---').join('|')}|`,
    `| node-mlx (MlxEngine + Runner) | ${results.map((r) => fmt(r.mlxTokensPerSecond)).join(' | ')} |`,
    ...llamaRows.map((row) => `| llama.cpp (${report.llamaCpp.package}, ${row.threads} threads) | ${row.tokensPerSecond.map(fmt).join(' | ')} |`),
    ...llamaRows.map((row) => `| node-mlx / llama.cpp (${row.threads} threads) | ${results.map((r, i) => (r.mlxTokensPerSecond / row.tokensPerSecond[i]).toFixed(2)).join(' | ')} |`),
    `load average (1 min) ${report.machine.loadAverage.map((l) => l.toFixed(1)).join(' -> ')} on ${report.machine.cpus} CPUs`,
    `greedy check: ${check.equal ? 'identical' : 'agreed prefixes ' + agree.join(', ')} over ${CHECK_TOKENS} tokens x ${checkPrompts.length} prompts`,
  ];
  process.stdout.write(`${lines.join('\n')}\n\nJSON: ${JSON.stringify(report)}\n`);
}

benchMain(main);
