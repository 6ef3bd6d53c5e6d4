// `mlx-batch bench`: the same requests sequentially (one at a time), then all at once through
// continuous batching, at each concurrency; prints a table (or JSON) with the speed-up.
import fs from 'node:fs';
import { MlxBatchError } from '../shared/errors';
import type { BenchmarkPromptSet } from '../shared/protocol';
import { benchmarkPrompts } from '../batching/benchmark/prompts';
import { runComparisonBenchmark } from '../batching/benchmark/report';
import { runnerTarget } from '../batching/benchmark/runner-target';
import { formatProgress, formatReport } from '../batching/benchmark/terminal';
import { backendName, selectDevice } from '../server/device';
import { openInference } from '../server/inference';
import { describeMachine } from '../server/machine';
import { deviceFlag, intFlag, modelFlag, oneOf, parseFlags, type Command } from './command';
import { BENCHMARK_SCENARIOS } from '../shared/protocol';
import { runEditorBench } from './bench-editor';

const USAGE = 'mlx-batch bench [--model M] [--device cpu|gpu] [--scenario throughput|editor] [--json] [--out FILE]\n' +
  '  throughput: [--concurrency 1,2,4,8,16] [--max-tokens N] [--prompts short,medium,long] [--max-batch N] [--prefix-cache]\n' +
  '  editor:     [--chats 2] [--typing-ms 150] [--duration 60] [--seed 1] [--files a.ts,b.py]';
const PROMPT_SETS: readonly BenchmarkPromptSet[] = ['short', 'medium', 'long'];

function list<T>(value: string, name: string, parse: (s: string) => T): T[] {
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new MlxBatchError('validation', `--${name} needs at least one value`, name);
  return items.map(parse);
}

export const benchCommand: Command = {
  name: 'bench',
  summary: 'Compare sequential vs continuously batched throughput and latency on a model',
  usage: USAGE,
  async run(argv) {
    const f = parseFlags(argv, {
      model: { type: 'string' },
      device: { type: 'string' },
      concurrency: { type: 'string' },
      'max-tokens': { type: 'string' },
      prompts: { type: 'string' },
      'max-batch': { type: 'string' },
      'prefix-cache': { type: 'boolean' },
      json: { type: 'boolean' },
      out: { type: 'string' },
      scenario: { type: 'string' },
      chats: { type: 'string' },
      'typing-ms': { type: 'string' },
      duration: { type: 'string' },
      seed: { type: 'string' },
      files: { type: 'string' },
    }, USAGE);
    const model = modelFlag(f.model);
    const device = deviceFlag(f.device);
    if (oneOf(f.scenario ?? 'throughput', BENCHMARK_SCENARIOS, 'scenario') === 'editor') {
      await runEditorBench(f, model, device);
      return;
    }
    const concurrencies = list(f.concurrency ?? '1,2,4,8,16', 'concurrency', (s) => intFlag(s, 'concurrency', 1, 1));
    const maxTokens = intFlag(f['max-tokens'], 'max-tokens', 64, 1);
    const sets = list(f.prompts ?? 'short,medium,long', 'prompts', (s) => {
      if (!(PROMPT_SETS as readonly string[]).includes(s)) throw new MlxBatchError('validation', `--prompts takes ${PROMPT_SETS.join(', ')} (got "${s}")`, 'prompts');
      return s as BenchmarkPromptSet;
    });
    const maxBatch = intFlag(f['max-batch'], 'max-batch', Math.max(...concurrencies), 1);
    const log = (s: string) => process.stderr.write(s);

    selectDevice(device);
    const inf = await openInference(model, {
      // Off by default: repeated benchmark prompts would otherwise be served from the prefix store.
      engine: { prefixCacheTokens: f['prefix-cache'] ? 16_384 : 0 },
      // The KV budget is the server's (picked from memory); these prompts reserve far less.
      runner: { maxBatch },
      load: { log: (line) => log(`[bench] ${line}\n`) },
    });
    log(`[bench] ${inf.loaded.id}: concurrency ${concurrencies.join(',')}, ${maxTokens} tokens per request, prompts ${sets.join(',')}\n`);
    const tty = process.stderr.isTTY;
    const report = await runComparisonBenchmark(runnerTarget(inf.runner, inf.tokenizer), {
      model: inf.loaded.id,
      concurrencies,
      maxTokens,
      prompts: benchmarkPrompts(sets),
      machine: describeMachine(backendName()),
      onProgress: (p) => {
        const line = formatProgress(p);
        if (tty) log(`\r${line}\x1b[K`);
        else if (p.done === p.total) log(line + '\n');
      },
    });
    if (tty) log('\n');
    const json = JSON.stringify(report, null, 2);
    if (f.out) fs.writeFileSync(f.out, json + '\n');
    process.stdout.write(f.json ? json + '\n' : formatReport(report) + '\n');
  },
};
