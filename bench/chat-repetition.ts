// How often the chat panel's answers loop: the held-out chat questions of the model's evaluation
// (a declaration of a held-out file, asked for in words), answered as the panel asks (its
// temperature and max_tokens, through the server's chat template and runner), with and without
// the panel's repetition penalty. An answer "repeats" when one non-blank line occurs 3 or more
// times. Each question is asked with the same seeds in both settings.
//   npx tsc -p . && node --expose-gc out/bench/chat-repetition.js [--model models/default]
//     [--questions 16] [--seeds 2] [--penalty 1.1] [--max-tokens 512]
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_CHAT_REPETITION_PENALTY } from '../src/shared/server-defaults';
import { openInference, textParams } from '../src/server/inference';
import { encodeChat } from '../src/server/tokenizer/chat-template';
import { languageOf } from '../src/training/batches';
import { chatForDeclaration, findDeclarations } from '../src/training/chat-examples';
import { collectCorpus } from '../src/training/corpus';
import { trainingRecord } from '../src/training/evaluate';
import { Rng } from '../src/shared/rng';
import { benchMain } from './lib/run';

const { values: opt } = parseArgs({
  options: {
    model: { type: 'string', default: path.join('models', 'default') },
    questions: { type: 'string', default: '16' },
    seeds: { type: 'string', default: '2' },
    penalty: { type: 'string', default: String(DEFAULT_CHAT_REPETITION_PENALTY) },
    'max-tokens': { type: 'string', default: '512' },
  },
});

/** The most times one non-blank line occurs in `text`. */
export function mostRepeatedLine(text: string): number {
  const counts = new Map<string, number>();
  for (const line of text.split('\n').map((l) => l.trim()).filter((l) => l.length > 0)) counts.set(line, (counts.get(line) ?? 0) + 1);
  return Math.max(0, ...counts.values());
}

async function main(): Promise<void> {
  const inf = await openInference(opt.model, { runner: { speculative: false } });
  const rec = trainingRecord(inf.loaded.dir);
  const corpus = collectCorpus({ root: path.resolve('node_modules'), maxBytes: rec.corpusBytes, heldOutShare: rec.heldOutShare });
  const rng = new Rng(1);
  const decls = corpus.heldOut.flatMap((f) => findDeclarations(f.text, languageOf(f.path)));
  const questions = Array.from({ length: Number(opt.questions) }, () => chatForDeclaration(decls[rng.int(0, decls.length)], rng)[0].content);
  const penalty = Number(opt.penalty);
  const load0 = os.loadavg()[0];
  const rows: string[] = [];
  const looped = { off: 0, on: 0 };
  const total = questions.length * Number(opt.seeds);
  for (const [qi, q] of questions.entries()) {
    for (let seed = 1; seed <= Number(opt.seeds); seed++) {
      const counts: number[] = [];
      for (const repetitionPenalty of [1, penalty]) {
        const sampling = { temperature: 0.7, topP: 1, topK: 0, seed, ...(repetitionPenalty !== 1 ? { repetitionPenalty } : {}) };
        const promptTokens = encodeChat(inf.tokenizer, [{ role: 'user', content: q }]);
        const done = await inf.runner.submit(textParams(inf.tokenizer, { promptTokens, maxTokens: Number(opt['max-tokens']), sampling })).collect();
        counts.push(mostRepeatedLine(done.text));
      }
      if (counts[0] >= 3) looped.off++;
      if (counts[1] >= 3) looped.on++;
      rows.push(`| ${qi + 1} | ${seed} | ${counts[0]} | ${counts[1]} |`);
    }
  }
  console.log(`${inf.loaded.id}: ${questions.length} held-out chat questions x ${opt.seeds} seeds, temperature 0.7, max_tokens ${opt['max-tokens']}`);
  console.log(`| question | seed | most repeated line, penalty off | with repetition_penalty ${penalty} |`);
  console.log('|---|---|---|---|');
  for (const r of rows) console.log(r);
  console.log(`answers repeating a line 3 or more times: off ${looped.off} of ${total}, repetition_penalty ${penalty}: ${looped.on} of ${total}`);
  console.log(`load average (1 min) ${load0.toFixed(1)} -> ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} CPUs`);
}

benchMain(main);
