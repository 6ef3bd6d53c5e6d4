import assert from 'node:assert/strict';
import { loadTokenizer, type Tokenizer } from '../../../src/server/tokenizer/tokenizer';
import { StreamingDetokenizer } from '../../../src/server/tokenizer/detokenizer';
import { corpus, LLAMA2_DIR, QWEN3_DIR, stream } from '../helpers/tokenizers';

const texts = corpus();

// `lead`: what the pre-tokenizer puts before the text (SentencePiece's space, which decode drops).
for (const [label, dir, normalize, lead] of [
  ['Qwen3 (byte-level BPE, NFC normalizer)', QWEN3_DIR, (s: string) => s.normalize('NFC'), ''],
  ['Llama 2 style (SentencePiece BPE, byte fallback)', LLAMA2_DIR, (s: string) => s, ' '],
] as const) {
  describe(`tokenizer corpus: ${label}`, function () {
    this.timeout(120_000);
    let tok: Tokenizer;
    const encoded = new Map<string, number[]>();
    before(async () => {
      tok = await loadTokenizer(dir);
      for (const { name, text } of texts) encoded.set(name, tok.encode(text, { addSpecialTokens: false }));
    });

    it('gives each token\'s bytes (logprobs), which joined are the text\'s UTF-8 even where a token splits a character', () => {
      let split = 0;
      for (const { name, text } of texts) {
        const parts = encoded.get(name)!.map((id) => tok.tokenBytes(id));
        split += parts.filter((b) => new TextDecoder().decode(b).includes('\uFFFD')).length;
        assert.equal(Buffer.concat(parts).toString('utf8'), lead + normalize(text), name);
      }
      assert.ok(split > 0, 'the corpus has tokens holding part of a character');
    });

    it('encodes a text again to the same ids, which the caller may change without touching the next encode', () => {
      for (const { name, text } of texts) {
        const again = tok.encode(text, { addSpecialTokens: false });
        assert.deepEqual(again, encoded.get(name), name);
        again.reverse();
        assert.deepEqual(tok.encode(text, { addSpecialTokens: false }), encoded.get(name), name);
      }
    });

    it('round-trips every corpus file through encode and decode', () => {
      for (const { name, text } of texts) {
        assert.equal(tok.decode(encoded.get(name)!), normalize(text), name);
      }
    });

    it('streams token by token to exactly the full decode, never emitting U+FFFD', () => {
      for (const { name } of texts) {
        const ids = encoded.get(name)!;
        const pieces = stream(tok, ids);
        assert.equal(pieces.join(''), tok.decode(ids), name);
        const broken = pieces.findIndex((p) => p.includes('\uFFFD'));
        assert.equal(broken, -1, `${name}: piece ${broken} has U+FFFD`);
      }
    });

    it('streams with BOS and EOS skipped to the skipping full decode', () => {
      const ids = [...tok.prefixIds, ...encoded.get(texts[5].name)!, ...tok.eosIds];
      assert.equal(stream(tok, ids, true).join(''), tok.decode(ids, { skipSpecialTokens: true }));
      assert.equal(stream(tok, ids, false).join(''), tok.decode(ids));
    });

    it('decodes O(new tokens) per push, not O(all tokens)', () => {
      let decoded = 0;
      const counting = { cleansUpSpaces: false, decode: (ids: readonly number[]) => { decoded += ids.length; return tok.decode(ids); } };
      const ids = texts.flatMap(({ name }) => encoded.get(name)!);
      const decoder = new StreamingDetokenizer(counting, false);
      let text = '';
      for (const id of ids) text += decoder.push(id);
      text += decoder.flush();
      assert.equal(text, tok.decode(ids));
      assert.ok(decoded < 8 * ids.length, `${decoded} ids decoded for ${ids.length} tokens`);
    });
  });
}
