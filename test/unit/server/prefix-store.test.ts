import assert from 'node:assert/strict';
import { PrefixStore, commonPrefix } from '../../../src/server/engine/prefix-store';

const seq = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

describe('PrefixStore', () => {
  it('finds the longest stored prefix of a prompt', () => {
    const s = new PrefixStore<string>(1000, 2);
    s.insert([1, 2, 3, 4], 'a');
    s.insert([1, 2, 9, 9, 9], 'b');
    const m = s.lookup([1, 2, 3, 4, 5, 6]);
    assert.equal(m?.entry.cache, 'a');
    assert.equal(m?.length, 4);
    assert.equal(s.lookup([1, 2, 9, 7])?.length, 3);
    assert.equal(s.lookup([5, 5, 5]), undefined);
    assert.deepEqual([s.hits, s.misses], [2, 1]);
  });

  it('says how much of a sequence it holds, without counting a hit or touching recency', () => {
    const s = new PrefixStore<string>(8, 1);
    s.insert(seq(0, 4), 'a');
    s.insert(seq(100, 4), 'b');
    assert.equal(s.covered([...seq(0, 3), 9]), 3);
    assert.equal(s.covered(seq(0, 6)), 4);
    assert.equal(s.covered([7]), 0);
    assert.deepEqual([s.hits, s.misses], [0, 0]);
    s.insert(seq(200, 4), 'c');
    assert.equal(s.covered(seq(0, 4)), 0, 'a stayed the least recently used');
  });

  it('ignores matches shorter than minTokens', () => {
    const s = new PrefixStore<string>(1000, 3);
    s.insert([1, 2, 3, 4], 'a');
    assert.equal(s.lookup([1, 2, 7]), undefined);
  });

  it('evicts the least recently used entries past the token cap', () => {
    const s = new PrefixStore<string>(10, 1);
    s.insert(seq(0, 4), 'a');
    s.insert(seq(100, 4), 'b');
    s.lookup(seq(0, 4)); // a becomes most recent
    s.insert(seq(200, 4), 'c');
    assert.equal(s.tokens, 8);
    assert.equal(s.lookup(seq(100, 4)), undefined, 'b was least recently used');
    assert.equal(s.lookup(seq(0, 4))?.entry.cache, 'a');
    assert.equal(s.lookup(seq(200, 4))?.entry.cache, 'c');
  });

  it('replaces entries that are prefixes of a new one and skips what a longer entry holds', () => {
    const s = new PrefixStore<string>(100, 1);
    s.insert([1, 2], 'short');
    s.insert([1, 2, 3], 'long');
    assert.equal(s.size, 1);
    assert.equal(s.tokens, 3);
    s.insert([1, 2], 'again');
    assert.equal(s.size, 1);
    assert.equal(s.lookup([1, 2])?.entry.cache, 'long');
  });

  it('stores nothing with capacity 0', () => {
    const s = new PrefixStore<string>(0);
    s.insert(seq(0, 10), 'a');
    assert.equal(s.size, 0);
  });

  it('commonPrefix counts equal leading tokens', () => {
    assert.equal(commonPrefix([1, 2, 3], [1, 2, 4]), 2);
    assert.equal(commonPrefix([], [1]), 0);
    assert.equal(commonPrefix([1, 2], [1, 2]), 2);
  });
});
