// The memo of recent long encodings: a text encoded again comes from memory, each caller owns its
// array, the least recently used text leaves first, short and huge texts are always encoded.
import assert from 'node:assert/strict';
import { EncodeMemo } from '../../../src/server/tokenizer/encode-memo';

/** An encoder that counts its calls: one id per character. */
function counting(): { calls: string[]; encode: (text: string) => number[] } {
  const calls: string[] = [];
  return { calls, encode: (text) => (calls.push(text), [...text].map((c) => c.charCodeAt(0))) };
}

const long = (c: string) => c.repeat(300);

describe('EncodeMemo', () => {
  it('encodes a long text once and gives the same ids again', () => {
    const memo = new EncodeMemo();
    const e = counting();
    const first = memo.encode(long('a'), e.encode);
    const second = memo.encode(long('a'), e.encode);
    assert.deepEqual(second, first);
    assert.equal(e.calls.length, 1);
  });

  it('gives every caller an array of its own', () => {
    const memo = new EncodeMemo();
    const e = counting();
    memo.encode(long('a'), e.encode).push(1);
    const again = memo.encode(long('a'), e.encode);
    again.push(2);
    assert.equal(memo.encode(long('a'), e.encode).length, 300);
  });

  it('lets the least recently used text go first', () => {
    const memo = new EncodeMemo(2);
    const e = counting();
    memo.encode(long('a'), e.encode);
    memo.encode(long('b'), e.encode);
    memo.encode(long('a'), e.encode); // a is now the most recent
    memo.encode(long('c'), e.encode); // b leaves
    assert.equal(memo.size, 2);
    memo.encode(long('a'), e.encode);
    memo.encode(long('b'), e.encode);
    assert.deepEqual(e.calls.map((t) => t[0]), ['a', 'b', 'c', 'b']);
  });

  it('encodes short and huge texts every time', () => {
    const memo = new EncodeMemo();
    const e = counting();
    for (let i = 0; i < 2; i++) {
      memo.encode('short text', e.encode);
      memo.encode('x'.repeat(70_000), e.encode);
    }
    assert.equal(e.calls.length, 4);
    assert.equal(memo.size, 0);
  });
});
