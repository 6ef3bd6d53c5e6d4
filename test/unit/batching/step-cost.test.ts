import assert from 'node:assert/strict';
import { StepCost, type DraftCost, type TimedStep } from '../../../src/batching/step-cost';

const step = (rows: number, ms: number, promptTokens = 0, draftTokens = 0): TimedStep => ({ rows, promptTokens, draftTokens, ms });
/** The same step timed twice (the first pass of a decode shape may build its graph and is not what it costs). */
const costOf = (c: StepCost): DraftCost | undefined => c.draftCost;
const twice = (c: StepCost, s: TimedStep): void => {
  c.observe(s);
  c.observe(s);
};

describe('StepCost', () => {
  it('knows nothing before a decode-only step, then one prompt token, then what fits the factor', () => {
    const c = new StepCost();
    assert.equal(c.promptTokensWithin(1, 2, 256), 0);
    c.observe(step(1, 70));
    assert.equal(c.promptTokensWithin(1, 2, 256), 1);
    c.observe(step(1, 80, 1));
    assert.equal(c.perPromptTokenMs, 10);
    assert.equal(c.promptTokensWithin(1, 2, 256), 7, 'floor((2 - 1) * 70 / 10)');
    assert.equal(c.promptTokensWithin(1, 1.5, 256), 3);
    assert.equal(c.promptTokensWithin(1, 200, 256), 9, 'at most 8 x the last step\'s one token, plus one');
    assert.equal(c.promptTokensWithin(1, 1.01, 256), 1, 'at least one: the prompt moves');
    c.observe(step(1, 150, 8));
    assert.equal(c.promptTokensWithin(1, 200, 64), 64, 'never past the ceiling');
  });

  it('grows a step\'s prompt tokens from the last step\'s, so a step timed within the noise does not hand out the budget', () => {
    const c = new StepCost();
    twice(c, step(1, 117));
    // One prompt token beside the row, and the step timed under the decode median: no measurable cost.
    c.observe(step(1, 90, 1));
    assert.equal(c.perPromptTokenMs, 0);
    assert.equal(c.promptTokensWithin(1, 2, 256), 9, 'not the ceiling: 8 x 1 + 1');
    // The next sample replaces the zero estimate rather than being averaged with it.
    c.observe(step(1, 117 + 9 * 5, 9));
    assert.equal(c.perPromptTokenMs, 5);
    assert.equal(c.promptTokensWithin(1, 2, 256), 23, 'floor(117 / 5)');
  });

  it('takes an untimed row count from the nearest fewer rows timed, else the nearest more', () => {
    const c = new StepCost();
    c.observe(step(2, 80));
    c.observe(step(8, 150));
    assert.equal(c.decodeMs(1), 80);
    assert.equal(c.decodeMs(5), 80);
    assert.equal(c.decodeMs(9), 150);
    assert.equal(c.decodeMs(8), 150);
  });

  it('takes a decode-only step as the median of the latest seven, so one slow step does not count', () => {
    const c = new StepCost();
    c.observe(step(1, 300));
    assert.equal(c.decodeMs(1), 300, 'the first pass stands until the second');
    c.observe(step(1, 100));
    assert.equal(c.decodeMs(1), 100, 'of two, the cheaper (the first may build its graph)');
    for (const ms of [60, 62, 64, 400]) c.observe(step(1, ms));
    assert.equal(c.decodeMs(1), 64, 'median of 300, 100, 60, 62, 64, 400');
    for (const ms of [20, 22, 24, 26]) c.observe(step(1, ms));
    assert.equal(c.decodeMs(1), 26, 'the latest seven: 62, 64, 400, 20, 22, 24, 26');
  });

  it('follows what a prompt token costs a quarter of the way each step', () => {
    const c = new StepCost();
    c.observe(step(1, 90));
    c.observe(step(1, 130, 4));
    assert.equal(c.perPromptTokenMs, 10);
    c.observe(step(1, 170, 4));
    assert.equal(c.perPromptTokenMs, 12.5, '(170 - 90) / 4 = 20, a quarter of the way from 10');
    // A step faster than a decode-only one says nothing negative about tokens.
    c.observe(step(1, 50, 4));
    assert.equal(c.perPromptTokenMs, 9.375);
  });

  it('fits what drafts add to each row, a fixed part and a part per token, apart from what prompt tokens add', () => {
    const c = new StepCost();
    twice(c, step(2, 40));
    c.observe(step(2, 1000, 0, 2));
    assert.equal(costOf(c), undefined, 'the first pass of a shape is not counted');
    c.observe(step(2, 45, 0, 2));
    assert.deepEqual(c.draftCost, { fixedMs: 0, perTokenMs: 2.5 }, 'one width: all of it per token');
    twice(c, step(2, 49, 0, 8));
    const d = c.draftCost!;
    // Per row: 2.5 ms at one token, 4.5 at four.
    assert.ok(Math.abs(d.perTokenMs - 2 / 3) < 1e-9 && Math.abs(d.fixedMs - 11 / 6) < 1e-9, JSON.stringify(d));
    assert.equal(c.perPromptTokenMs, undefined, 'a draft says nothing about prompt tokens');
    // A mixed step: the drafts at their fitted price (2 x 4.5 ms), the rest is the prompt's.
    c.observe(step(2, 40 + 9 + 40, 10, 8));
    assert.ok(Math.abs(c.perPromptTokenMs! - 4) < 1e-9, `${c.perPromptTokenMs}`);
    assert.deepEqual(c.draftCost, d, 'a step with a prompt chunk says nothing about drafts');
  });

  it('prices drafts against a decode-only step of as many rows only', () => {
    const c = new StepCost();
    twice(c, step(1, 10));
    twice(c, step(4, 40, 0, 4));
    assert.equal(c.draftCost, undefined, '4 rows were never timed without drafts: their 30 ms are not the drafts\'');
  });

  it('counts a drafting step at most three times the fitted line (a collection is not what a token costs)', () => {
    const c = new StepCost();
    twice(c, step(1, 10));
    twice(c, step(1, 14, 0, 4));
    assert.equal(c.draftCost!.perTokenMs, 1);
    c.observe(step(1, 10 + 4 * 100, 0, 4));
    // The sample of 400 ms counts as 12 (one width: all of it per token).
    assert.ok(Math.abs(c.draftCost!.perTokenMs - (0.95 * 4 + 12) / (0.95 * 4 + 4)) < 1e-9, `${c.draftCost!.perTokenMs}`);
  });

  it('lets a fitted line at zero rise again (its outliers are bounded by a quarter of the step)', () => {
    const c = new StepCost();
    twice(c, step(1, 10));
    twice(c, step(1, 9, 0, 1));
    twice(c, step(1, 9, 0, 2));
    assert.deepEqual(c.draftCost, { fixedMs: 0, perTokenMs: 0 }, 'faster than a decode-only step: free');
    for (let i = 0; i < 60; i++) c.observe(step(1, 10 + (i % 2 === 0 ? 2 : 4), 0, i % 2 === 0 ? 1 : 2));
    const d = c.draftCost!;
    assert.ok(Math.abs(d.perTokenMs - 2) < 0.05 && Math.abs(d.fixedMs) < 0.1, JSON.stringify(d));
  });

  describe('draftLength', () => {
    /** Costs measured: a decode step of `rows` rows `decode` ms; drafts `fixed` ms plus `perToken` ms a token. */
    const priced = (rows: number, decode: number, perToken: number, fixed = 0): StepCost => {
      const c = new StepCost();
      twice(c, step(rows, decode));
      for (const width of [1, 2]) twice(c, step(rows, decode + fixed + rows * width * perToken, 0, rows * width));
      return c;
    };
    const row = (tokens: number, acceptance: number) => [{ tokens, acceptance }];

    it('asks for decode-only steps of this many rows, then one- and two-token drafts, until both are measured', () => {
      const c = new StepCost();
      const choose = (n: number, rows = 1) => Array.from({ length: n }, () => c.draftLength(rows, row(4, 0.9), 7));
      assert.deepEqual(choose(2), [0, 0]);
      twice(c, step(1, 10));
      assert.deepEqual(choose(2), [1, 2], 'one- and two-token drafts');
      c.observe(step(1, 12, 0, 1));
      c.observe(step(1, 13, 0, 2));
      assert.deepEqual(choose(2), [1, 2], 'again: a shape\'s first pass is not counted');
      c.observe(step(1, 11, 0, 1));
      c.observe(step(1, 12, 0, 2));
      assert.deepEqual(choose(1), [4], 'then what pays best');
      assert.deepEqual(choose(1, 2), [0], 'two rows were never timed without drafts');
      assert.equal(c.draftLength(1, [], 7), 0, 'no row proposes');
    });

    it('drafts long where draft tokens are cheap next to a step, short where they are dear', () => {
      // A small model: a token adds 2% of a step. Every proposed token pays.
      assert.equal(priced(1, 10, 0.2).draftLength(1, row(7, 0.7), 7), 7);
      // A large model on the CPU: a token adds 13% of a step. With 70% acceptance the 5th
      // token is worth 0.17 tokens for 13% of a step, less than the step yields per ms.
      assert.equal(priced(1, 70, 9).draftLength(1, row(7, 0.7), 7), 4);
      // Accepted nearly always: long again.
      assert.equal(priced(1, 70, 9).draftLength(1, row(7, 0.97), 7), 7);
    });

    it('pays a fixed cost of checking drafts only where the draft yields enough', () => {
      // Checking drafts at all costs half a step, tokens nearly nothing: a long draft pays for
      // it, a short one does not.
      assert.equal(priced(1, 10, 0.01, 5).draftLength(1, row(7, 0.8), 7), 7);
      assert.equal(priced(1, 10, 0.01, 5).draftLength(1, row(1, 0.4), 7), 0);
    });

    it('prices the padding of rows that do not draft, and the ceiling holds', () => {
      // One of 4 rows drafts: each draft column costs 4 tokens for one row's guess.
      assert.equal(priced(4, 80, 9).draftLength(4, row(3, 0.7), 7), 0);
      assert.equal(priced(4, 80, 0.5).draftLength(4, row(3, 0.7), 7), 3);
      assert.equal(priced(4, 80, 0.5).draftLength(4, row(7, 0.9), 2), 2);
    });

    it('stops drafting at a row count whose drafting steps gave fewer tokens per ms than decoding', () => {
      // The fitted line says 3-token drafts pay at 7 rows (decode 9 ms, a draft token 0.2 ms).
      const c = priced(7, 9, 0.2);
      const rows = Array.from({ length: 7 }, () => ({ tokens: 3, acceptance: 0.77 }));
      assert.equal(c.draftLength(7, rows, 3), 3);
      // But such steps took 24 ms for 14.8 tokens (0.62 a ms) where decoding gives 7 in 9 ms (0.78).
      for (let i = 0; i < 4; i++) c.observe({ ...step(7, 24, 0, 21), tokens: 14.8 });
      assert.equal(c.draftLength(7, rows, 3), 0);
      // Another row count keeps its own record.
      assert.equal(priced(4, 9, 0.2).draftLength(4, rows.slice(0, 4), 3), 3);
      // Drafting steps that give more than decoding leave the choice to the estimates.
      const d = priced(7, 9, 0.2);
      for (let i = 0; i < 4; i++) d.observe({ ...step(7, 12, 0, 21), tokens: 14.8 });
      assert.equal(d.draftLength(7, rows, 3), 3);
    });

    it('measures a decode-only step and drafts afresh now and then, in steps without a prompt chunk', () => {
      const c = priced(1, 70, 9);
      const answers = Array.from({ length: 140 }, () => c.draftLength(1, row(7, 0.7), 7));
      assert.deepEqual(answers.flatMap((a, i) => (a === 4 ? [] : [[i, a]])), [[64, 0], [65, 1], [66, 2], [131, 0], [132, 1], [133, 2]], 'every 67 choices');
    });
  });
});
