// Fitting fill-in-the-middle context into a token budget: what is nearest the cursor stays, the
// suffix gets at most a quarter, cuts land on line boundaries. One token per character here.
import assert from 'node:assert/strict';
import { fitFimText } from '../../../src/server/fim';

const MARKERS = 3;
const count = (p: string, s: string) => MARKERS + [...p].length + [...s].length;
const lines = (tag: string, n: number) => Array.from({ length: n }, (_, i) => `${tag}${String(i).padStart(3, '0')} ${'x'.repeat(14)}\n`).join('');

describe('fitFimText', () => {
  it('leaves context that fits alone', () => {
    assert.deepEqual(fitFimText('abc\n', 'def\n', 100, count), { prefix: 'abc\n', suffix: 'def\n' });
  });

  it('keeps the end of the prefix and the start of the suffix, within the budget', () => {
    const prefix = lines('p', 60); // 1,200 characters
    const suffix = lines('s', 30); // 600 characters
    const budget = 500;
    const r = fitFimText(prefix, suffix, budget, count);
    assert.ok(count(r.prefix, r.suffix) <= budget, `${count(r.prefix, r.suffix)} tokens > ${budget}`);
    assert.ok(prefix.endsWith(r.prefix), 'the prefix keeps its end (next to the cursor)');
    assert.ok(suffix.startsWith(r.suffix), 'the suffix keeps its start (next to the cursor)');
    assert.ok(r.suffix.length <= budget / 4, `suffix ${r.suffix.length} chars > a quarter of ${budget}`);
    assert.ok(r.suffix.length >= budget / 4 - 2 * 20, 'the suffix keeps nearly its quarter');
    assert.ok(count(r.prefix, r.suffix) >= budget - 3 * 20, 'the prefix uses nearly all the room left');
    assert.match(r.prefix, /^p\d{3} /, 'the prefix starts at a line start');
    assert.match(r.suffix, /\n$/, 'the suffix ends at a line end');
  });

  it('gives a short suffix all it needs and the prefix the rest', () => {
    const prefix = lines('p', 60);
    const r = fitFimText(prefix, '}\n', 300, count);
    assert.equal(r.suffix, '}\n');
    assert.ok(count(r.prefix, r.suffix) <= 300 && count(r.prefix, r.suffix) > 300 - 40);
  });

  it('cuts inside a line when no line boundary is near (minified code)', () => {
    const prefix = 'a'.repeat(5000);
    const suffix = 'b'.repeat(5000);
    const r = fitFimText(prefix, suffix, 400, count);
    assert.ok(count(r.prefix, r.suffix) <= 400);
    assert.ok(r.prefix.length > 200 && r.suffix.length > 50, `kept ${r.prefix.length} + ${r.suffix.length} characters`);
  });

  it('returns what it could when even the markers do not fit (the caller reports it)', () => {
    const r = fitFimText('abc', 'def', 2, count);
    assert.ok(count(r.prefix, r.suffix) > 2);
    assert.equal(r.prefix, '');
  });
});
