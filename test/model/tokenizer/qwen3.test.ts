import assert from 'node:assert/strict';
import { loadTokenizer, type Tokenizer } from '../../../src/server/tokenizer/tokenizer';
import { encodeChat, renderChat } from '../../../src/server/tokenizer/chat-template';
import { buildFimPrompt, detectFim, encodeExtraContext, extraContextThatFits, joinExtraContext } from '../../../src/server/fim';
import { QWEN3_DIR, stream } from '../helpers/tokenizers';

describe('Qwen3 tokenizer (real tokenizer.json)', function () {
  this.timeout(60_000);
  let tok: Tokenizer;
  before(async () => { tok = await loadTokenizer(QWEN3_DIR); });

  it('encodes known ids and adds no BOS', () => {
    assert.deepEqual(tok.encode('Hello world!'), [9707, 1879, 0]);
    assert.deepEqual(tok.encode(' Hello'), [21927]);
    assert.deepEqual(tok.prefixIds, []);
    assert.equal(tok.bosId, undefined);
    assert.equal(tok.vocabSize, 151669);
  });

  it('keeps special and added tokens whole', () => {
    assert.deepEqual(tok.encode('<|im_start|>user\nhi<|im_end|>'), [151644, 872, 198, 6023, 151645]);
    assert.deepEqual(tok.encode('<|fim_prefix|>x<|fim_suffix|>'), [151659, 87, 151661]);
    assert.equal(tok.tokenToId('<|endoftext|>'), 151643);
    assert.equal(tok.idToToken(151645), '<|im_end|>');
    assert.equal(tok.idToToken(10_000_000), undefined);
    assert.ok(tok.isSpecial(151645));
    assert.ok(!tok.isSpecial(151659), '<|fim_prefix|> is added but not special in Qwen3');
    assert.equal(tok.specialTokens.get('<|im_start|>'), 151644);
    assert.equal(tok.addedTokens.get('<think>'), 151667);
  });

  it('decodes with and without special tokens, ignoring ids outside the vocabulary', () => {
    const ids = [151644, 872, 198, 6023, 151645];
    assert.equal(tok.decode(ids), '<|im_start|>user\nhi<|im_end|>');
    assert.equal(tok.decode(ids, { skipSpecialTokens: true }), 'user\nhi');
    assert.equal(tok.decode([9707, 151900, 1879]), 'Hello world');
    assert.equal(tok.decode([]), '');
  });

  it('takes EOS <|im_end|> from tokenizer_config.json and pad from pad_token', () => {
    assert.deepEqual([...tok.eosIds], [151645]);
    assert.deepEqual([...tok.endOfGenerationIds], [151645, 151643], 'plus <|endoftext|>, for base-model text');
    assert.equal(tok.padId, 151643);
  });

  it('streams a character split over byte-level tokens only once it is complete', () => {
    const ids = tok.encode(' 🎉!');
    assert.deepEqual(ids.map((id) => tok.idToToken(id)), ['ĠðŁ', 'İ', 'ī', '!']);
    assert.deepEqual(stream(tok, ids), ['', '', ' 🎉', '!', '']);
  });

  it('emits invalid bytes as U+FFFD only at flush, and mid-text once followed by valid text', () => {
    const lead = tok.tokenToId('ð')!; // byte 0xF0: the lead of a 4-byte sequence
    const pieces = stream(tok, [9707, lead]);
    assert.deepEqual(pieces, ['Hello', '', '\uFFFD']);
    assert.equal(pieces.join(''), tok.decode([9707, lead]));
    const mid = stream(tok, [lead, 1879]);
    assert.deepEqual(mid, ['', '\uFFFD world', '']);
  });

  it('streams special tokens as text, or skips them', () => {
    const ids = [151644, 872, 198, 6023, 151645];
    assert.equal(stream(tok, ids).join(''), tok.decode(ids));
    assert.equal(stream(tok, ids, true).join(''), 'user\nhi');
  });

  const chat = [
    { role: 'system', content: 'You are a helpful assistant.' },
    { role: 'user', content: 'Write a haiku about tokens.' },
  ];

  it('renders the chat template exactly, with the generation prompt', () => {
    assert.equal(renderChat(tok, chat, { addGenerationPrompt: true }),
      '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' +
      '<|im_start|>user\nWrite a haiku about tokens.<|im_end|>\n' +
      '<|im_start|>assistant\n');
  });

  it('renders the chat template exactly, without the generation prompt', () => {
    assert.equal(renderChat(tok, chat, { addGenerationPrompt: false }),
      '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' +
      '<|im_start|>user\nWrite a haiku about tokens.<|im_end|>\n');
  });

  it('passes extra variables: enable_thinking false closes an empty think block', () => {
    assert.equal(renderChat(tok, [{ role: 'user', content: 'hi' }], { variables: { enable_thinking: false } }),
      '<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n');
  });

  it('drops the reasoning of earlier assistant turns, as the template says', () => {
    const turns = [
      { role: 'user', content: 'a' },
      { role: 'assistant', content: '<think>\nplan\n</think>\n\nb' },
      { role: 'user', content: 'c' },
    ];
    assert.equal(renderChat(tok, turns),
      '<|im_start|>user\na<|im_end|>\n<|im_start|>assistant\nb<|im_end|>\n<|im_start|>user\nc<|im_end|>\n<|im_start|>assistant\n');
  });

  it('encodes a rendered chat with role tokens as single ids', () => {
    const ids = encodeChat(tok, [{ role: 'user', content: 'hi' }]);
    assert.deepEqual(ids, [151644, 872, 198, 6023, 151645, 198, 151644, 77091, 198]);
    assert.equal(tok.decode(ids), '<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n');
  });

  it('finds the FIM tokens and builds a prefix-suffix-middle prompt', () => {
    const fim = detectFim(tok);
    assert.equal(fim?.style, 'qwen');
    const prefix = 'function add(a, b) {\n  return ';
    const suffix = ';\n}\n';
    const { ids, stopIds } = buildFimPrompt(tok, prefix, suffix);
    assert.deepEqual(ids, [
      151659, ...tok.encode(prefix, { addSpecialTokens: false }),
      151661, ...tok.encode(suffix, { addSpecialTokens: false }),
      151660,
    ]);
    assert.equal(tok.decode(ids), `<|fim_prefix|>${prefix}<|fim_suffix|>${suffix}<|fim_middle|>`);
    for (const name of ['<|endoftext|>', '<|fim_pad|>', '<|file_sep|>', '<|im_end|>']) {
      assert.ok(stopIds.has(tok.tokenToId(name)!), name);
    }
  });

  it('puts other files before the FIM prompt in the repository layout Qwen2.5-Coder was trained on, each piece on its own tokens', () => {
    const pieces = [{ filename: 'src/util.ts', text: 'export const K = 3;' }, { filename: 'src/b.ts', text: 'export function b() {}\n' }];
    const extra = encodeExtraContext(tok, pieces, 'src/main.ts');
    const { ids } = buildFimPrompt(tok, 'const x = ', ';\n', joinExtraContext(extra, 2));
    assert.equal(tok.decode(ids),
      '<|repo_name|>project\n<|file_sep|>src/util.ts\nexport const K = 3;\n<|file_sep|>src/b.ts\nexport function b() {}\n<|file_sep|>src/main.ts\n<|fim_prefix|>const x = <|fim_suffix|>;\n<|fim_middle|>');
    // A prompt keeping only the first piece starts with exactly the tokens of that piece in the full one.
    const one = joinExtraContext(extra, 1);
    assert.deepEqual(one.slice(0, -extra.close.length), ids.slice(0, one.length - extra.close.length));
    assert.deepEqual(joinExtraContext(extra, 0), []);
    // Fitting keeps leading pieces only, with the tokens around them counted.
    const size = (k: number) => joinExtraContext(extra, k).length;
    assert.equal(extraContextThatFits(extra, size(2)), 2);
    assert.equal(extraContextThatFits(extra, size(2) - 1), 1);
    assert.equal(extraContextThatFits(extra, size(1) - 1), 0);
  });
});
