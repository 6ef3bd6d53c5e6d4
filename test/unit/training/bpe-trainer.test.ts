import assert from 'node:assert/strict';
import { hfJinja, hfTokenizers } from '../../../src/server/tokenizer/hf';
import { BYTE_TO_CHAR, splitPieces, toByteChars } from '../../../src/training/byte-level';
import { BpeEncoder } from '../../../src/training/bpe-encoder';
import { countPieces, trainBpe } from '../../../src/training/bpe-trainer';
import { CHAT_TEMPLATE, renderChat, SPECIAL_TOKENS, tokenizerConfigJson, tokenizerJson } from '../../../src/training/tokenizer-spec';
import { TrainingTokenizer } from '../../../src/training/tokens';

const CORPUS = [
  'export interface Point {\n    x: number;\n    y: number;\n}\n',
  'export interface Size {\n    width: number;\n    height: number;\n}\n',
  'function add(a: number, b: number): number {\n    return a + b;\n}\n',
  'const label = "naïve café 東京 🚀";\n',
];

describe('byte-level BPE trainer', () => {
  it('maps all 256 bytes to distinct printable characters', () => {
    assert.equal(new Set(BYTE_TO_CHAR).size, 256);
    assert.equal(toByteChars(' a\n'), 'ĠaĊ');
  });

  it('splits code like the Qwen2 pre-tokenizer: words with their leading space, indentation apart', () => {
    assert.deepEqual(splitPieces('    return a + b;\n'), ['   ', ' return', ' a', ' +', ' b', ';\n']);
  });

  it('learns the most frequent pair first, merges in count order, and stops at the requested size', () => {
    const counts = new Map([['ab', 10], ['abc', 6], ['cd', 3]]);
    const bpe = trainBpe(counts, 3);
    assert.deepEqual(bpe.merges, [['a', 'b'], ['ab', 'c'], ['c', 'd']]);
    assert.equal(bpe.vocab.size, 256 + 3);
    assert.equal(bpe.vocab.get('abc'), 257);
  });

  it('is deterministic and encodes the corpus losslessly', () => {
    const a = trainBpe(countPieces(CORPUS), 60);
    const b = trainBpe(countPieces(CORPUS), 60);
    assert.deepEqual(a.merges, b.merges);
    const enc = new BpeEncoder(a);
    const ids = enc.encode(CORPUS[0]);
    assert.ok(ids.length < CORPUS[0].length / 2, `${ids.length} tokens for ${CORPUS[0].length} characters`);
    const inverse = new Map([...a.vocab].map(([t, i]) => [i, t]));
    const chars = ids.map((i) => inverse.get(i)).join('');
    assert.equal(chars, toByteChars(CORPUS[0]));
  });

  it('writes a tokenizer.json that @huggingface/tokenizers loads and that agrees with the encoder', () => {
    const bpe = trainBpe(countPieces(CORPUS), 80);
    const tok = new hfTokenizers.Tokenizer(tokenizerJson(bpe) as never, tokenizerConfigJson(bpe, 512, 'spm') as never);
    const ours = new TrainingTokenizer(bpe);
    for (const text of [...CORPUS, 'unseen text: Ünïcödé, tabs\tand\r\nCRLF 123456']) {
      const ids = tok.encode(text, { add_special_tokens: false }).ids;
      assert.deepEqual(ids, ours.encode(text));
      assert.equal(tok.decode(ids), text);
    }
    const prompt = '<|fim_prefix|>const x = <|fim_suffix|>;\n<|fim_middle|>';
    assert.deepEqual(tok.encode(prompt, { add_special_tokens: false }).ids, ours.encodeWithSpecials(prompt));
    assert.equal(ours.encodeWithSpecials(prompt)[0], bpe.vocab.size + SPECIAL_TOKENS.indexOf('<|fim_prefix|>'));
  });

  it('renders chat like its Jinja template', () => {
    const messages = [{ role: 'user' as const, content: 'Write add.' }, { role: 'assistant' as const, content: '```ts\nadd\n```' }];
    const jinja = new hfJinja.Template(CHAT_TEMPLATE);
    assert.equal(jinja.render({ messages, add_generation_prompt: true }), renderChat(messages, true));
    const withSystem = [{ role: 'system' as const, content: 'Be brief.' }, ...messages];
    assert.equal(jinja.render({ messages: withSystem, add_generation_prompt: false }), renderChat(withSystem, false));
  });
});
