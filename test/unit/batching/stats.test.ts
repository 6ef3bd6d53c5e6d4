import assert from 'node:assert/strict';
import { Histogram, RateWindow, percentile, summarize } from '../../../src/batching/stats';
import { FakeClock } from './helpers/scheduling';

const close = (a: number, b: number): void => assert.ok(Math.abs(a - b) < 1e-9, `${a} != ${b}`);

describe('stats', () => {
  it('percentile interpolates linearly like numpy', () => {
    // Values from numpy.percentile (default method 'linear').
    close(percentile([1, 2, 3, 4, 5], 50), 3);
    close(percentile([1, 2, 3, 4, 5], 90), 4.6);
    close(percentile([1, 2, 3, 4, 5], 99), 4.96);
    close(percentile([15, 20, 35, 40, 50], 40), 29);
    close(percentile([10, 1, 7], 25), 4);
    close(percentile([1, 2, 3, 4], 50), 2.5);
    close(percentile([3, 1], 0), 1);
    close(percentile([3, 1], 100), 3);
  });

  it('does not reorder its input', () => {
    const v = [3, 1, 2];
    percentile(v, 50);
    summarize(v);
    assert.deepEqual(v, [3, 1, 2]);
  });

  it('handles an empty sample', () => {
    assert.ok(Number.isNaN(percentile([], 50)));
    assert.deepEqual(summarize([]), { count: 0, avg: 0, min: 0, max: 0, p50: 0, p90: 0, p99: 0 });
  });

  it('handles one sample', () => {
    assert.equal(percentile([7], 99), 7);
    assert.deepEqual(summarize([7]), { count: 1, avg: 7, min: 7, max: 7, p50: 7, p90: 7, p99: 7 });
  });

  it('summarizes a sample', () => {
    const s = summarize(Array.from({ length: 101 }, (_, i) => i));
    assert.equal(s.avg, 50);
    assert.equal(s.p50, 50);
    assert.equal(s.p90, 90);
    assert.equal(s.p99, 99);
    assert.equal(s.max, 100);
  });

  it('histogram counts cumulatively up to +Inf', () => {
    const h = new Histogram([1, 4, 2]);
    for (const v of [1, 1, 2, 3, 9]) h.observe(v);
    assert.deepEqual(h.snapshot(), {
      buckets: [{ le: 1, count: 2 }, { le: 2, count: 3 }, { le: 4, count: 4 }, { le: Infinity, count: 5 }],
      sum: 16,
      count: 5,
    });
  });

  it('rate window counts the last window only and decays to zero', () => {
    const clock = new FakeClock();
    const r = new RateWindow(1000, clock.now);
    assert.equal(r.perSecond(), 0);
    r.add(10);
    clock.advance(500);
    r.add(10);
    assert.equal(r.perSecond(), 40); // 20 tokens over the 500 ms since activity began
    clock.advance(700);
    assert.equal(r.perSecond(), 10); // the first sample has left the window
    clock.advance(1000);
    assert.equal(r.perSecond(), 0);
  });
});
