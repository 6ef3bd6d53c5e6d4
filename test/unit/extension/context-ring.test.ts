import assert from 'node:assert/strict';
import { chunkAround, ContextRing, requestExtra } from '../../../src/extension/completion/context-ring';
import type { ExtraContextChunk } from '../../../src/shared/protocol';

/** A chunk of `n` distinct lines named after `tag`; `changed` of them (from the end) rewritten. */
function chunk(tag: string, n = 20, changed = 0, filename = `${tag}.ts`): ExtraContextChunk {
  const lines = Array.from({ length: n }, (_, i) => (i >= n - changed ? `${tag} edited ${i}` : `${tag} line ${i};`));
  return { filename, text: lines.join('\n') + '\n' };
}

const names = (ring: ContextRing) => ring.chunks().map((c) => c.filename);

describe('extension context ring', () => {
  it('queues chunks and moves them into the ring on refresh, bumping the version once', () => {
    const ring = new ContextRing(4);
    ring.add(chunk('a'));
    ring.add(chunk('b'));
    assert.deepEqual(ring.chunks(), [], 'nothing enters before the refresh');
    assert.equal(ring.version, 0, 'queueing does not change the version');
    assert.equal(ring.refresh(), true);
    assert.deepEqual(names(ring), ['a.ts', 'b.ts']);
    assert.equal(ring.version, 1);
    assert.equal(ring.refresh(), false, 'an empty queue changes nothing');
    assert.equal(ring.version, 1);
  });

  it('keeps an identical chunk where it is, and the version with it', () => {
    const ring = new ContextRing(4);
    for (const t of ['a', 'b', 'c']) ring.add(chunk(t));
    ring.refresh();
    const v = ring.version;
    ring.add(chunk('a'));
    assert.equal(ring.refresh(), false);
    assert.deepEqual(names(ring), ['a.ts', 'b.ts', 'c.ts'], 'the oldest stays first');
    assert.equal(ring.version, v);
  });

  it('replaces a similar chunk (>= 90% of lines shared) in place, and appends one less similar', () => {
    const ring = new ContextRing(4);
    for (const t of ['a', 'b', 'c']) ring.add(chunk(t));
    ring.refresh();
    const v = ring.version;
    const b2 = chunk('b', 20, 1); // 19 of 21 distinct lines shared: 0.905
    ring.add(b2);
    assert.equal(ring.refresh(), true);
    assert.deepEqual(ring.chunks(), [chunk('a'), b2, chunk('c')]);
    assert.ok(ring.version > v);
    ring.add(chunk('c', 20, 2)); // 18 of 22: 0.82, a different chunk
    ring.refresh();
    assert.deepEqual(ring.chunks().map((c) => c.text), [chunk('a'), b2, chunk('c'), chunk('c', 20, 2)].map((c) => c.text));
  });

  it('evicts the oldest past maxChunks, and when maxChunks shrinks', () => {
    const ring = new ContextRing(3);
    for (const t of ['a', 'b', 'c', 'd']) ring.add(chunk(t));
    ring.refresh();
    assert.deepEqual(names(ring), ['b.ts', 'c.ts', 'd.ts']);
    ring.add(chunk('e'));
    ring.refresh();
    assert.deepEqual(names(ring), ['c.ts', 'd.ts', 'e.ts']);
    const v = ring.version;
    ring.setMaxChunks(2);
    assert.deepEqual(names(ring), ['d.ts', 'e.ts']);
    assert.ok(ring.version > v);
  });

  it('lists the chunks oldest first, the same between refreshes that change nothing', () => {
    const ring = new ContextRing(8);
    for (const t of ['a', 'b', 'c']) {
      ring.add(chunk(t));
      ring.refresh();
    }
    const first = ring.chunks();
    ring.add(chunk('b'));
    ring.add(chunk('a'));
    ring.refresh();
    assert.deepEqual(ring.chunks(), first);
    assert.deepEqual(names(ring), ['a.ts', 'b.ts', 'c.ts']);
  });

  it('takes no chunk of fewer than 3 non-blank lines', () => {
    const ring = new ContextRing(4);
    ring.add({ filename: 'x', text: 'one\n\n  \ntwo\n' });
    ring.refresh();
    assert.deepEqual(ring.chunks(), []);
  });

  it('cuts a chunk of chunkLines lines around a line, whole near either end', () => {
    const text = Array.from({ length: 100 }, (_, i) => `l${i}`).join('\n');
    const lines = (c: string) => c.trimEnd().split('\n');
    assert.deepEqual(lines(chunkAround(text, 50, 10)), ['l45', 'l46', 'l47', 'l48', 'l49', 'l50', 'l51', 'l52', 'l53', 'l54']);
    assert.deepEqual(lines(chunkAround(text, 1, 4)), ['l0', 'l1', 'l2', 'l3']);
    assert.deepEqual(lines(chunkAround(text, 99, 4)), ['l96', 'l97', 'l98', 'l99']);
    assert.ok(chunkAround(text, 50, 10).endsWith('l54\n'));
    assert.equal(lines(chunkAround('a\nb', 0, 64)).length, 2);
  });

  describe('the extra context of one request', () => {
    const budget = (maxChars: number, prefix = 'const q = 1;\n', suffix = '') => ({ prefix, suffix, maxChars });

    it('leaves out chunks already in the prefix or suffix', () => {
      const near = chunk('near');
      const prefix = near.text.split('\n').slice(0, 8).join('\n') + '\n';
      const suffix = near.text.split('\n').slice(8).join('\n');
      const half = chunk('half');
      const out = requestExtra([chunk('a'), near, chunk('b')], [], budget(1e6, prefix, ''));
      assert.deepEqual(names2(out), ['a.ts', 'near.ts', 'b.ts'], '8 of its 20 lines in the prefix is not enough');
      assert.deepEqual(names2(requestExtra([chunk('a'), near, chunk('b')], [], budget(1e6, prefix, suffix))), ['a.ts', 'b.ts']);
      const halfInSuffix = half.text.split('\n').slice(0, 10).join('\n');
      assert.deepEqual(names2(requestExtra([half], [], budget(1e6, '', halfInSuffix))), [], 'half its lines in the suffix');
    });

    it('puts definitions after the ring and keeps within maxChars, the newest ring chunks in ring order', () => {
      const size = chunk('a').text.length;
      const ring = [chunk('a'), chunk('b'), chunk('c'), chunk('d')];
      const defs = [chunk('x', 5), chunk('y', 5)];
      const all = requestExtra(ring, defs, budget(1e6));
      assert.deepEqual(names2(all), ['a.ts', 'b.ts', 'c.ts', 'd.ts', 'x.ts', 'y.ts']);
      const maxChars = 3 * size;
      const out = requestExtra(ring, defs, budget(maxChars));
      assert.ok(out.reduce((n, c) => n + c.text.length, 0) <= maxChars, 'never more than maxChars');
      assert.deepEqual(names2(out), ['c.ts', 'd.ts', 'x.ts', 'y.ts'], 'the oldest ring chunks give way');
      const big = [chunk('x', 25), chunk('y', 25)];
      assert.deepEqual(names2(requestExtra(ring, big, budget(maxChars))), ['d.ts', 'x.ts'], 'definitions take at most half');
      assert.deepEqual(requestExtra(ring, defs, budget(0)), []);
    });
  });
});

const names2 = (chunks: ExtraContextChunk[]) => chunks.map((c) => c.filename);
