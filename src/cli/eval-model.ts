// `mlx-batch eval-model`: perplexity, next-token accuracy and FIM first-line exact match of a
// model trained by `mlx-batch train`, on its held-out split.
import fs from 'node:fs';
import path from 'node:path';
import { EVAL_FIM_CONTEXT, evaluateDefaultModel } from '../training/evaluate';
import { FIM_LAYOUTS, type FimLayout } from '../server/fim';
import { firstLine } from '../training/fim-examples';
import { DEFAULT_REPO_CONTEXT } from '../training/repo-context';
import { intFlag, modelFlag, oneOf, parseFlags, type Command } from './command';

const USAGE = 'mlx-batch eval-model [--model M] [--fim-cases N] [--fim-prefix-chars N] [--fim-suffix-chars N] [--fim-layout psm|spm] [--prefix-only] [--repo-context] [--repo-chunks N] [--repo-chunk-lines N] [--first-line-beams N] [--split-bytes N] [--chat-cases N] [--windows N] [--window-length N] [--samples N] [--json FILE]';

export const evalModelCommand: Command = {
  name: 'eval-model',
  summary: 'Measure the default model on its held-out split (perplexity, accuracy, FIM first-line match)',
  usage: USAGE,
  async run(argv) {
    const f = parseFlags(argv, {
      model: { type: 'string' }, 'fim-cases': { type: 'string' }, 'chat-cases': { type: 'string' }, windows: { type: 'string' },
      samples: { type: 'string' }, json: { type: 'string' }, 'fim-prefix-chars': { type: 'string' }, 'fim-suffix-chars': { type: 'string' },
      'window-length': { type: 'string' }, 'fim-layout': { type: 'string' }, 'prefix-only': { type: 'boolean' },
      'split-bytes': { type: 'string' }, 'first-line-beams': { type: 'string' },
      'repo-context': { type: 'boolean' }, 'repo-chunks': { type: 'string' }, 'repo-chunk-lines': { type: 'string' },
    }, USAGE);

    const report = await evaluateDefaultModel({
      modelDir: path.resolve(modelFlag(f.model)),
      corpusRoot: path.resolve('node_modules'),
      fimCases: intFlag(f['fim-cases'], 'fim-cases', 200, 1),
      fimPrefixChars: intFlag(f['fim-prefix-chars'], 'fim-prefix-chars', EVAL_FIM_CONTEXT.prefixChars, 1),
      fimSuffixChars: intFlag(f['fim-suffix-chars'], 'fim-suffix-chars', EVAL_FIM_CONTEXT.suffixChars, 0),
      fimLayout: f['fim-layout'] === undefined ? undefined : oneOf<FimLayout>(f['fim-layout'], FIM_LAYOUTS, 'fim-layout'),
      prefixOnly: f['prefix-only'] === true,
      ...(f['repo-context'] === true ? {
        repoContext: {
          maxChunks: intFlag(f['repo-chunks'], 'repo-chunks', DEFAULT_REPO_CONTEXT.maxChunks, 1),
          chunkLines: intFlag(f['repo-chunk-lines'], 'repo-chunk-lines', DEFAULT_REPO_CONTEXT.chunkLines, 1),
        },
      } : {}),
      firstLineBeams: f['first-line-beams'] === undefined ? undefined : intFlag(f['first-line-beams'], 'first-line-beams', 0, 1),
      splitBytes: f['split-bytes'] === undefined ? undefined : intFlag(f['split-bytes'], 'split-bytes', 0, 10_000),
      chatCases: intFlag(f['chat-cases'], 'chat-cases', 24, 0),
      windows: intFlag(f.windows, 'windows', 400, 1),
      windowLength: intFlag(f['window-length'], 'window-length', 256, 2),
      maxNewTokens: 48,
      batch: 8,
      seed: 7,
      log: (line) => console.log(line),
    });
    const samples = intFlag(f.samples, 'samples', 0, 0);
    for (const s of report.fim.slice(0, samples)) {
      const tail = s.prefix.split('\n').slice(-4).join('\n');
      const copied = s.copySource && s.copyShare >= 0.5 ? ` (${Math.round(100 * s.copyShare)}% of its long lines are in ${s.copySource})` : '';
      console.log(`\n--- ${s.file}${copied} ${s.firstLineMatch ? '(first line exact)' : ''}\n...${tail}\u2588\n  expected: ${JSON.stringify(firstLine(s.middle))}\n  model:    ${JSON.stringify(firstLine(s.completion))}`);
    }
    for (const c of report.chat.slice(0, Math.min(3, samples))) console.log(`\n--- chat: ${c.question}\n${c.answer}`);
    if (f.json) fs.writeFileSync(f.json, `${JSON.stringify(report, null, 2)}\n`);
  },
};
