// Prompt processing side by side, as a user meets it: time to first token of one prompt of N
// tokens, ours through the real server process over HTTP (streaming /v1/completions,
// `max_tokens` 1, a fresh first line per request so nothing comes from the prefix store), against
// llama.cpp (node-llama-cpp, one sequence, history cleared, 512-token batches as llama-server's
// default), on the same weights and the same token ids. Then single-stream decode after a short
// prompt: ours from the stream's frame times, llama.cpp from its own loop. Before timing, the
// greedy text of both for one prompt is compared. Rounds interleave the engines (order
// alternating); medians are reported with the load average.
import os from 'node:os';
import { benchmarkPrompts } from '../../src/batching/benchmark/prompts';
import { percentile } from '../../src/batching/stats';
import { promptTokenizer } from '../../src/server/load-service';
import type { Tokenizer } from '../../src/server/tokenizer/tokenizer';
import { LlamaCppBatch, type LlamaCppSide } from './llama-cpp-side';
import { startServer, streamCompletion } from './server-process';

export interface PromptComparisonOptions {
  modelDir: string;
  model: string;
  shape: string;
  tokenizer: Tokenizer;
  llama: LlamaCppSide;
  threads: number;
  promptTokens: number[];
  decodeTokens: number;
  rounds: number;
  json: boolean;
}

const median = (xs: number[]): number => percentile(xs, 50);
const log = (s: string): void => void process.stderr.write(`${s}\n`);

/** A code prompt whose token count, as the server encodes it, is `tokens` (give or take a few), with `line` first. */
function codePrompt(tokenizer: Tokenizer, tokens: number, line: string): string {
  const stream = benchmarkPrompts().join('\n');
  let text = `${line}\n`;
  while (tokenizer.encode(text).length < tokens) text += stream;
  const ids = tokenizer.encode(text, { addSpecialTokens: false });
  // Cut by tokens, then settle the count the server will see (a cut can merge at the seam).
  let cut = tokens;
  for (let i = 0; i < 4; i++) {
    const candidate = tokenizer.decode(ids.slice(0, cut));
    const n = tokenizer.encode(candidate).length;
    if (n === tokens) return candidate;
    cut += tokens - n;
  }
  return tokenizer.decode(ids.slice(0, cut));
}

export async function runPromptComparison(o: PromptComparisonOptions): Promise<void> {
  const encode = promptTokenizer(o.tokenizer);
  const longest = Math.max(...o.promptTokens);
  const contextSize = longest + o.decodeTokens + 64;
  const server = await startServer(o.modelDir, ['--max-batch', '4']);
  const ctx = await LlamaCppBatch.create(o.llama.model, 1, contextSize, o.threads, 1);
  const loadBefore = os.loadavg()[0];
  let nonce = 0;
  const fresh = (): string => `// request ${process.pid}-${nonce++}: prompt processing, nothing to reuse`;
  try {
    // Same function on both sides: the greedy text after a 256-token prompt.
    const checkText = codePrompt(o.tokenizer, Math.min(256, longest), fresh());
    const checkIds = encode.encode(checkText);
    const ours = await streamCompletion(server.url, { prompt: checkText, max_tokens: 8, temperature: 0, ignore_eos: true });
    const theirs = await ctx.generate([checkIds], 8);
    const theirText = o.tokenizer.decode(theirs.tokens[0], { skipSpecialTokens: true });
    const check = { ours: ours.text, llamaCpp: theirText, equal: ours.text === theirText };
    log(`greedy check after ${checkIds.length} tokens: ours ${JSON.stringify(ours.text)}, llama.cpp ${JSON.stringify(theirText)}`);

    const ttft = new Map<string, number[]>();
    const counted = new Map<number, number>();
    const push = (k: string, v: number): void => void (ttft.get(k) ?? ttft.set(k, []).get(k)!).push(v);
    const decodeRates = { ours: [] as number[], llamaCpp: [] as number[] };
    for (let round = 0; round < o.rounds; round++) {
      const order: ('ours' | 'llama.cpp')[] = round % 2 === 0 ? ['ours', 'llama.cpp'] : ['llama.cpp', 'ours'];
      for (const n of o.promptTokens) {
        for (const engine of order) {
          const text = codePrompt(o.tokenizer, n, fresh());
          const ids = encode.encode(text);
          counted.set(n, ids.length);
          let ms: number;
          if (engine === 'ours') {
            const r = await streamCompletion(server.url, { prompt: text, max_tokens: 1, temperature: 0, ignore_eos: true });
            if (r.usage && r.usage.prompt_tokens !== ids.length) throw new Error(`the server counted ${r.usage.prompt_tokens} prompt tokens, we ${ids.length}`);
            ms = (r.textTimes[0] ?? r.ended) - r.sent;
          } else {
            const t0 = performance.now();
            await ctx.generate([ids], 1);
            ms = performance.now() - t0;
          }
          push(`${engine}/${n}`, ms);
          log(`round ${round + 1}/${o.rounds} ${engine} ${ids.length}-token prompt: first token after ${ms.toFixed(0)} ms`);
        }
      }
      for (const engine of order) {
        const text = codePrompt(o.tokenizer, 32, fresh());
        if (engine === 'ours') {
          const r = await streamCompletion(server.url, { prompt: text, max_tokens: o.decodeTokens, temperature: 0, ignore_eos: true });
          const ts = r.textTimes;
          // Tokens after the first, over the time from the first to the last frame (usage counts tokens with no text too).
          const tokens = (r.usage?.completion_tokens ?? ts.length) - 1;
          decodeRates.ours.push(tokens / ((ts[ts.length - 1] - ts[0]) / 1000));
        } else {
          const r = await ctx.generate([encode.encode(text)], o.decodeTokens);
          decodeRates.llamaCpp.push(r.decodeTokens / (r.decodeMs / 1000));
        }
        log(`round ${round + 1}/${o.rounds} ${engine} single-stream decode: ${(engine === 'ours' ? decodeRates.ours : decodeRates.llamaCpp).at(-1)!.toFixed(1)} tok/s`);
      }
    }
    const rows = o.promptTokens.map((n) => {
      const ours = median(ttft.get(`ours/${n}`)!);
      const theirs = median(ttft.get(`llama.cpp/${n}`)!);
      return { promptTokens: counted.get(n)!, oursMs: ours, llamaCppMs: theirs, speed: theirs / ours, oursRounds: ttft.get(`ours/${n}`)!, llamaCppRounds: ttft.get(`llama.cpp/${n}`)! };
    });
    const decode = { oursTokensPerSecond: median(decodeRates.ours), llamaCppTokensPerSecond: median(decodeRates.llamaCpp), rounds: decodeRates };
    const report = {
      model: o.model,
      shape: o.shape,
      machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? '', loadAverage: [loadBefore, os.loadavg()[0]] },
      llamaCpp: { package: `node-llama-cpp@${o.llama.version}`, threads: o.threads, batchSize: 512 },
      // Ours runs its prompt products on OpenBLAS's kernels for this CPU family (OPENBLAS_CORETYPE forces one).
      openblasCore: server.kernels?.blasCore ?? null,
      openblasCoreForced: process.env.OPENBLAS_CORETYPE || null,
      rounds: o.rounds,
      check,
      timeToFirstToken: rows,
      singleStreamDecode: { ...decode, speed: decode.oursTokensPerSecond / decode.llamaCppTokensPerSecond, tokens: o.decodeTokens },
    };
    if (o.json) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      return;
    }
    const lines = [
      `${o.model} (${o.shape}), f32, greedy; ours: mlx-batch serve over HTTP (streaming); llama.cpp: ${report.llamaCpp.package}, ${o.threads} threads; medians of ${o.rounds}`,
      '| | ours | llama.cpp | ours / theirs speed |',
      '|---|---|---|---|',
      ...rows.map((r) => `| time to first token, ${r.promptTokens}-token prompt | ${(r.oursMs / 1000).toFixed(2)} s | ${(r.llamaCppMs / 1000).toFixed(2)} s | ${r.speed.toFixed(2)}x |`),
      `| single-stream decode, ${o.decodeTokens} tokens after a short prompt | ${decode.oursTokensPerSecond.toFixed(1)} tok/s | ${decode.llamaCppTokensPerSecond.toFixed(1)} tok/s | ${report.singleStreamDecode.speed.toFixed(2)}x |`,
      `load average (1 min) ${report.machine.loadAverage.map((l) => l.toFixed(1)).join(' -> ')} on ${report.machine.cpus} CPUs (${report.machine.cpu})`,
      `ours: OpenBLAS kernels for ${report.openblasCore ?? '(unknown)'}${report.openblasCoreForced ? ` (forced: OPENBLAS_CORETYPE=${report.openblasCoreForced})` : ' (detected)'}`,
      `greedy check: ${check.equal ? 'identical' : `ours ${JSON.stringify(check.ours)} vs llama.cpp ${JSON.stringify(check.llamaCpp)}`}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n\nJSON: ${JSON.stringify(report)}\n`);
  } finally {
    await ctx.dispose();
    await server.stop();
  }
}
