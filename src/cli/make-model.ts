// `mlx-batch make-model`: a random-weight model in the mlx-community on-disk layout, at real
// architecture shapes, with real tokenizer files. Tests and benchmarks use it.
import fs from 'node:fs';
import path from 'node:path';
import { FIXTURE_ARCHS, FIXTURE_SIZES, makeModel, type FixtureArch, type FixtureSize } from '../server/fixtures';
import { intFlag, oneOf, parseFlags, requireFlag, type Command } from './command';

const USAGE = 'mlx-batch make-model --arch llama|qwen2|qwen3 --size tiny|small|0.5b --out DIR [--quantize 4|8] [--dtype f32|bf16] [--shards N] [--seed S] [--if-missing] [--print-path]';

export const makeModelCommand: Command = {
  name: 'make-model',
  summary: 'Write a random-weight model (llama, qwen2, qwen3) in the mlx-community layout',
  usage: USAGE,
  async run(argv) {
    const f = parseFlags(argv, {
      arch: { type: 'string' },
      size: { type: 'string' },
      out: { type: 'string' },
      quantize: { type: 'string' },
      dtype: { type: 'string' },
      shards: { type: 'string' },
      seed: { type: 'string' },
      'if-missing': { type: 'boolean' },
      'print-path': { type: 'boolean' },
    }, USAGE);
    const arch = oneOf<FixtureArch>(requireFlag(f.arch, 'arch', USAGE), FIXTURE_ARCHS, 'arch');
    const size = oneOf<FixtureSize>(requireFlag(f.size, 'size', USAGE), FIXTURE_SIZES, 'size');
    const out = path.resolve(requireFlag(f.out, 'out', USAGE));
    const quantize = f.quantize === undefined ? undefined : (Number(oneOf(f.quantize, ['4', '8'], 'quantize')) as 4 | 8);
    const dtype = oneOf(f.dtype ?? 'f32', ['f32', 'bf16'] as const, 'dtype');
    const report = (line: string) => (f['print-path'] ? process.stderr : process.stdout).write(line + '\n');
    if (f['if-missing'] && fs.existsSync(path.join(out, 'config.json')) && fs.existsSync(path.join(out, 'tokenizer.json'))) {
      report(`make-model: ${out} exists; kept`);
    } else {
      const made = await makeModel({
        arch, size, out, quantize, dtype,
        shards: intFlag(f.shards, 'shards', 1, 1),
        seed: intFlag(f.seed, 'seed', 0, 0),
      });
      report(`make-model: ${arch} ${size} (${(made.parameterCount / 1e6).toFixed(1)}M parameters, ` +
        `${(made.weightBytes / 2 ** 20).toFixed(1)} MiB in ${made.weightFiles.join(', ')}) -> ${out}`);
    }
    if (f['print-path']) process.stdout.write(out + '\n');
  },
};
