// The latency target for an interactive request's time to first token while N long chat
// streams decode, against the same request on an idle server (p50 <= 1.5x, p99 <= 2x). Real
// runner + engine (openInference). Repetitions alternate loaded / idle (which one goes first
// alternates too); each interactive prompt is new (no prefix reuse), each chat the same
// conversation again (its prompt comes from the prefix store, as a next chat turn would).
//   npx tsc -p . && node --expose-gc out/bench/interactive-ttft.js \
//     [--model DIR | --fixture qwen2:0.5b] [--reps 20] [--chats 4] [--chat-prompt 1024] [--chat-tokens 1024] [--prompt 256] [--json]
import { parseArgs } from 'node:util';
import type { Runner } from '../src/batching/runner';
import type { GenerateParams } from '../src/batching/request-types';
import { percentile } from '../src/batching/stats';
import { ensureFixtureModel, type FixtureArch, type FixtureSize } from '../src/server/fixtures';
import { openInference } from '../src/server/inference';
import { benchMain } from './lib/run';

const { values: opt } = parseArgs({
  options: {
    model: { type: 'string' },
    fixture: { type: 'string', default: 'qwen2:0.5b' },
    reps: { type: 'string', default: '20' },
    chats: { type: 'string', default: '4' },
    'chat-prompt': { type: 'string', default: '1024' },
    prompt: { type: 'string', default: '256' },
    'chat-tokens': { type: 'string', default: '1024' },
    json: { type: 'boolean', default: false },
  },
});

const GREEDY = { temperature: 0, topP: 1, topK: 0 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tokens(seed: number, n: number, vocab: number): number[] {
  let x = (seed * 2654435761 + 1) >>> 0;
  return Array.from({ length: n }, () => {
    x = (Math.imul(x ^ (x >>> 15), 2246822519) + 0x6d2b79f5) >>> 0;
    return 3 + (x % (vocab - 3));
  });
}

/** Milliseconds from submission to the first generated token. */
async function ttft(runner: Runner, params: GenerateParams): Promise<number> {
  const t = performance.now();
  for await (const ev of runner.submit(params)) if (ev.type === 'delta' && ev.tokens.length > 0) return performance.now() - t;
  throw new Error('the interactive request produced no token');
}

/** Starts the chat streams; resolves once every one of them is decoding. */
async function startChats(runner: Runner, prompts: number[][], maxTokens: number, signal: AbortSignal): Promise<Promise<void>[]> {
  const decoding: Promise<void>[] = [];
  const done = prompts.map((p) => {
    const stream = runner.submit({ promptTokens: p, maxTokens, ignoreEos: true, sampling: GREEDY, priority: 'normal' }, signal);
    let first!: () => void;
    decoding.push(new Promise<void>((r) => (first = r)));
    return (async () => {
      for await (const ev of stream) if (ev.type === 'delta') first();
    })();
  });
  await Promise.all(decoding);
  return done;
}

async function main(): Promise<void> {
  const [arch, size] = opt.fixture.split(':') as [FixtureArch, FixtureSize];
  const dir = opt.model ?? (await ensureFixtureModel(arch, size));
  const inf = await openInference(dir);
  const { runner } = inf;
  const vocab = inf.loaded.model.args.vocabSize;
  const reps = Number(opt.reps);
  // Enough to outlast a repetition; bounded so the 4 reservations fit the default KV budget.
  const chatTokens = Number(opt['chat-tokens']);
  const promptLen = Number(opt.prompt);
  const chatPrompts = Array.from({ length: Number(opt.chats) }, (_, i) => tokens(1000 + i, Number(opt['chat-prompt']), vocab));
  const interactive = (seed: number): GenerateParams => ({
    promptTokens: tokens(seed, promptLen, vocab), maxTokens: 1, ignoreEos: true, sampling: GREEDY, priority: 'interactive',
  });
  const log = (s: string) => process.stderr.write(s + '\n');
  log(`[ttft] ${inf.loaded.id}: ${reps} reps, interactive prompt ${promptLen}, ${chatPrompts.length} chats of ${opt['chat-prompt']} prompt tokens`);

  // Warm-up: caches the chat prompts and runs every code path once.
  await ttft(runner, interactive(1));
  const warm = new AbortController();
  const warmChats = await startChats(runner, chatPrompts, chatTokens, warm.signal);
  warm.abort();
  await Promise.all(warmChats);

  const idle: number[] = [];
  const loaded: number[] = [];
  let stepMs = 0;
  for (let r = 0; r < reps; r++) {
    for (const mode of r % 2 === 0 ? ['loaded', 'idle'] : ['idle', 'loaded']) {
      const req = interactive(10 + 2 * r + (mode === 'idle' ? 1 : 0));
      // Idle means idle: the aborted chats' rows are released (and stored for reuse) first.
      await runner.idle();
      if (mode === 'idle') {
        idle.push(await ttft(runner, req));
        continue;
      }
      const ac = new AbortController();
      const chats = await startChats(runner, chatPrompts, chatTokens, ac.signal);
      // Time a few decode steps, then arrive at a random point of a step.
      const s0 = runner.metrics().steps;
      const t0 = performance.now();
      await sleep(300);
      stepMs = (performance.now() - t0) / Math.max(1, runner.metrics().steps - s0);
      await sleep(Math.random() * stepMs);
      loaded.push(await ttft(runner, req));
      ac.abort();
      await Promise.all(chats);
    }
    log(`[ttft] rep ${r + 1}/${reps}: idle ${idle[idle.length - 1].toFixed(0)} ms, loaded ${loaded[loaded.length - 1].toFixed(0)} ms (decode step ~${stepMs.toFixed(0)} ms)`);
  }
  const q = (xs: number[], p: number) => percentile(xs, p);
  const result = {
    model: inf.loaded.id,
    reps,
    interactivePromptTokens: promptLen,
    chats: chatPrompts.length,
    chatPromptTokens: Number(opt['chat-prompt']),
    idleMs: { p50: q(idle, 50), p99: q(idle, 99) },
    loadedMs: { p50: q(loaded, 50), p99: q(loaded, 99) },
    ratio: { p50: q(loaded, 50) / q(idle, 50), p99: q(loaded, 99) / q(idle, 99) },
    targets: { p50: 1.5, p99: 2 },
  };
  if (opt.json) {
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  } else {
    const f = (x: number) => x.toFixed(0).padStart(7);
    console.log(`${result.model}: interactive prompt ${promptLen} tokens, ${result.chats} chat streams (${result.chatPromptTokens}-token prompts), ${reps} reps`);
    console.log(`            p50 ms  p99 ms`);
    console.log(`idle       ${f(result.idleMs.p50)} ${f(result.idleMs.p99)}`);
    console.log(`loaded     ${f(result.loadedMs.p50)} ${f(result.loadedMs.p99)}`);
    console.log(`ratio      ${result.ratio.p50.toFixed(2).padStart(7)} ${result.ratio.p99.toFixed(2).padStart(7)}   (targets <= 1.50, <= 2.00)`);
  }
}

benchMain(main);
