import assert from 'node:assert/strict';
import { StepCost } from '../../../src/batching/step-cost';

describe('StepCost', () => {
  it('knows nothing before a decode-only step, then one prompt token, then what fits the factor', () => {
    const c = new StepCost();
    assert.equal(c.extraTokensWithin(1, 2, 256), 0);
    c.observe({ rows: 1, extraTokens: 0, ms: 70 });
    assert.equal(c.extraTokensWithin(1, 2, 256), 1);
    c.observe({ rows: 1, extraTokens: 1, ms: 80 });
    assert.equal(c.perTokenMs, 10);
    assert.equal(c.extraTokensWithin(1, 2, 256), 7, 'floor((2 - 1) * 70 / 10)');
    assert.equal(c.extraTokensWithin(1, 1.5, 256), 3);
    assert.equal(c.extraTokensWithin(1, 200, 64), 64, 'never past the ceiling');
    assert.equal(c.extraTokensWithin(1, 1.01, 256), 1, 'at least one: the prompt moves');
  });

  it('takes an untimed row count from the nearest fewer rows timed, else the nearest more', () => {
    const c = new StepCost();
    c.observe({ rows: 2, extraTokens: 0, ms: 80 });
    c.observe({ rows: 8, extraTokens: 0, ms: 150 });
    assert.equal(c.decodeMs(1), 80);
    assert.equal(c.decodeMs(5), 80);
    assert.equal(c.decodeMs(9), 150);
    assert.equal(c.decodeMs(8), 150);
  });

  it('follows the costs as they change, a quarter of the way each step', () => {
    const c = new StepCost();
    c.observe({ rows: 1, extraTokens: 0, ms: 100 });
    c.observe({ rows: 1, extraTokens: 0, ms: 60 });
    assert.equal(c.decodeMs(1), 90);
    c.observe({ rows: 1, extraTokens: 4, ms: 130 });
    assert.equal(c.perTokenMs, 10);
    c.observe({ rows: 1, extraTokens: 4, ms: 170 });
    assert.equal(c.perTokenMs, 12.5, "(170 - 90) / 4 = 20, a quarter of the way from 10");
    // A step faster than a decode-only one says nothing negative about tokens.
    c.observe({ rows: 1, extraTokens: 4, ms: 50 });
    assert.equal(c.perTokenMs, 9.375);
  });
});
