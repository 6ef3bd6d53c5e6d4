import assert from 'node:assert/strict';
import { DraftState, proposeDraft } from '../../../src/batching/ngram-drafter';

describe('prompt-lookup drafting', () => {
  it('copies what followed the latest earlier occurrence of the last tokens, at most max', () => {
    // "7 8" occurs twice before the end; the later one is followed by 1 2 3.
    const tokens = [7, 8, 9, 9, 5, 7, 8, 1, 2, 3, 4, 7, 8];
    assert.deepEqual(proposeDraft(tokens, 3), [1, 2, 3]);
    assert.deepEqual(proposeDraft(tokens, 10), [1, 2, 3, 4, 7, 8], 'stops at the end of the tokens');
    assert.deepEqual(proposeDraft(tokens, 0), []);
  });

  it('prefers the longest matching suffix over a later shorter one', () => {
    // The 3-gram "1 2 3" is followed by 40; the later 2-gram "2 3" by 50.
    const tokens = [1, 2, 3, 40, 41, 2, 3, 50, 51, 1, 2, 3];
    assert.deepEqual(proposeDraft(tokens, 2), [40, 41]);
  });

  it('proposes nothing without a match of at least two tokens', () => {
    assert.deepEqual(proposeDraft([1, 2, 3, 4, 5, 3], 4), []);
    assert.deepEqual(proposeDraft([5], 4), []);
  });

  it('looks in the prediction first', () => {
    const tokens = [1, 2, 3, 9, 1, 2];
    assert.deepEqual(proposeDraft(tokens, 3), [3, 9, 1]);
    assert.deepEqual(proposeDraft(tokens, 3, [0, 1, 2, 6, 7, 8, 9]), [6, 7, 8]);
  });

  it('in the prediction, takes the occurrence nearest where the output has got to', () => {
    // "1 2" occurs three times in the prediction, followed by 10, 20 and 30; an output 7 tokens
    // long is at the second.
    const prediction = [1, 2, 10, 11, 12, 1, 2, 20, 21, 22, 1, 2, 30, 31];
    const tokens = [100, 101, 1, 2];
    assert.deepEqual(proposeDraft(tokens, 3, prediction), [30, 31], 'the latest, without a position');
    assert.deepEqual(proposeDraft(tokens, 3, prediction, undefined, 7), [20, 21, 22]);
    assert.deepEqual(proposeDraft(tokens, 3, prediction, undefined, 1), [10, 11, 12]);
  });

  it('grows the draft after full acceptance, shrinks it after a rejection', () => {
    const s = new DraftState(8);
    assert.equal(s.nextLength(), 4);
    s.record(4, 4);
    assert.equal(s.nextLength(), 6);
    s.record(6, 6);
    assert.equal(s.nextLength(), 8);
    s.record(8, 8);
    assert.equal(s.nextLength(), 8, 'capped');
    s.record(8, 2);
    assert.equal(s.nextLength(), 3);
    assert.equal(s.proposedTotal, 26);
    assert.equal(s.acceptedTotal, 20);
  });

  it('estimates the acceptance of a draft token from recent accepted tokens and rejections', () => {
    const s = new DraftState(8);
    assert.equal(s.acceptance, 2 / 3, 'the prior: two accepted to one rejection');
    for (let i = 0; i < 20; i++) s.record(4, 4);
    assert.ok(s.acceptance > 0.99, `accepted in full every time: ${s.acceptance}`);
    const r = new DraftState(8);
    for (let i = 0; i < 40; i++) r.record(4, 1);
    // Each draft: one token accepted, then a rejection.
    assert.ok(Math.abs(r.acceptance - 0.5) < 0.01, `${r.acceptance}`);
    const t = new DraftState(8);
    for (let i = 0; i < 40; i++) t.record(4, 3);
    assert.ok(Math.abs(t.acceptance - 0.75) < 0.01, `three then a rejection: ${t.acceptance}`);
  });
});
