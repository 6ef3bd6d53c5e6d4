// The sampler draws from softmax(logits / T) restricted to the top-k tokens and the top-p
// nucleus, measured over thousands of seeded draws against the same distribution computed here
// in float64; top-k = 1 is argmax; a seed fixes the draws, another seed changes them.
import assert from 'node:assert/strict';
import { mx, type MxArray } from '../../../src/server/mlx';
import { penalize, RowSampler, verifyBatch } from '../../../src/server/generate/sampler';
import type { SamplingParams } from '../../../src/batching/request-types';

/** Logits with well separated probabilities: every top-p cut below lies far from a boundary. */
const LOGITS = [2.0, 1.4, 0.9, 0.5, 0.1, -0.3, -0.8, -1.5, -2.2, -3.0];
const N = 4000;
/**
 * Bound on the total variation between N draws and their distribution. Its expected size for 10
 * tokens and 4,000 draws is about 0.015 (0.008 and 0.013 measured at T 0.5 and 1.5); a wrong
 * temperature, top-k or top-p moves it past 0.1.
 */
const TV_BOUND = 0.05;

/** softmax(logits / T) in float64, over the float32 values the sampler sees. */
function softmax(logits: number[], t: number): number[] {
  const z = logits.map((l) => Math.fround(l) / t);
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** The tokens kept by top-k then top-p: the k largest, then the smallest prefix by probability whose mass reaches p. */
function keptSet(logits: number[], p: SamplingParams): Set<number> {
  let order = logits.map((_, i) => i).sort((a, b) => logits[b] - logits[a]);
  if (p.topK > 0) order = order.slice(0, p.topK);
  const probs = softmax(order.map((i) => logits[i]), p.temperature);
  if (p.topP < 1) {
    let mass = 0;
    let n = 0;
    while (n < probs.length && mass < p.topP) mass += probs[n++];
    order = order.slice(0, n);
  }
  return new Set(order);
}

/** The distribution the sampler must draw from: softmax(logits / T) renormalised over the kept set. */
function expected(logits: number[], p: SamplingParams): number[] {
  const kept = keptSet(logits, p);
  const probs = softmax(logits, p.temperature).map((q, i) => (kept.has(i) ? q : 0));
  const s = probs.reduce((a, b) => a + b, 0);
  return probs.map((q) => q / s);
}

function draws(logits: number[], p: SamplingParams, n: number): number[] {
  const sampler = new RowSampler(p);
  const row = mx.array(logits, mx.float32);
  return Array.from({ length: n }, () => sampler.sample(row));
}

function totalVariation(tokens: number[], want: number[]): number {
  const counts = new Array<number>(want.length).fill(0);
  for (const t of tokens) counts[t] += 1;
  return counts.reduce((acc, c, i) => acc + Math.abs(c / tokens.length - want[i]), 0) / 2;
}

/** A seeded [rows, V] table of logits, as JS rows. */
function randomLogits(rows: number, vocab: number, seed: number): number[][] {
  return mx.random.normal([rows, vocab], mx.float32, 0, 3, mx.random.key(seed)).tolist() as number[][];
}

const argmax = (xs: number[]) => xs.reduce((best, v, i) => (v > xs[best] ? i : best), 0);

describe('sampler', function () {
  this.timeout(120_000);

  it('top-k = 1 is argmax, at any temperature', () => {
    for (const [i, row] of randomLogits(40, 1000, 11).entries()) {
      for (const temperature of [0.3, 1, 2]) {
        const s = new RowSampler({ temperature, topP: 1, topK: 1, seed: i });
        assert.equal(s.sample(mx.array(row, mx.float32)), argmax(row), `row ${i}, T ${temperature}`);
      }
    }
  });

  it('draws from softmax(logits / T) at two temperatures (total variation < 0.05 over 4,000 draws)', () => {
    for (const temperature of [0.5, 1.5]) {
      const p = { temperature, topP: 1, topK: 0, seed: 3 };
      const tv = totalVariation(draws(LOGITS, p, N), expected(LOGITS, p));
      assert.ok(tv < TV_BOUND, `T ${temperature}: total variation ${tv.toFixed(4)}`);
    }
    // The bound separates the temperatures: T 0.5 and 1.5 are far apart.
    const far = totalVariation(draws(LOGITS, { temperature: 0.5, topP: 1, topK: 0, seed: 3 }, N), expected(LOGITS, { temperature: 1, topP: 1, topK: 0 }));
    assert.ok(far > 4 * TV_BOUND, `T 0.5 against softmax(logits): ${far.toFixed(4)}`);
  });

  it('keeps every draw inside the top-k set, with the top-k distribution', () => {
    for (const topK of [2, 3, 6]) {
      const p = { temperature: 1, topP: 1, topK, seed: 5 + topK };
      const tokens = draws(LOGITS, p, N);
      const kept = keptSet(LOGITS, p);
      assert.equal(kept.size, topK);
      assert.deepEqual(tokens.filter((t) => !kept.has(t)), [], `top-k ${topK}`);
      assert.equal(new Set(tokens).size, topK, `every one of the top ${topK} is drawn`);
      const tv = totalVariation(tokens, expected(LOGITS, p));
      assert.ok(tv < TV_BOUND, `top-k ${topK}: total variation ${tv.toFixed(4)}`);
    }
  });

  it('keeps every draw inside the top-p nucleus, with the nucleus distribution', () => {
    // The cumulative mass of softmax(LOGITS) is 0.405, 0.628, 0.763, 0.853, 0.914, ...
    for (const [topP, size] of [[0.3, 1], [0.5, 2], [0.7, 3], [0.88, 5]] as const) {
      const p = { temperature: 1, topP, topK: 0, seed: 21 };
      const kept = keptSet(LOGITS, p);
      assert.equal(kept.size, size, `nucleus of top-p ${topP}`);
      const tokens = draws(LOGITS, p, N);
      assert.deepEqual(tokens.filter((t) => !kept.has(t)), [], `top-p ${topP}`);
      assert.equal(new Set(tokens).size, size, `every token of the nucleus is drawn (top-p ${topP})`);
      const tv = totalVariation(tokens, expected(LOGITS, p));
      assert.ok(tv < TV_BOUND, `top-p ${topP}: total variation ${tv.toFixed(4)}`);
    }
  });

  it('keeps draws inside top-k then top-p over a 32,000-token vocabulary', () => {
    for (const [i, row] of randomLogits(2, 32_000, 31).entries()) {
      for (const p of [
        { temperature: 0.8, topP: 1, topK: 40, seed: i },
        { temperature: 1.2, topP: 0.5, topK: 0, seed: i },
        { temperature: 1, topP: 0.9, topK: 20, seed: i },
      ]) {
        const kept = keptSet(row, p);
        const tokens = draws(row, p, 200);
        assert.deepEqual(tokens.filter((t) => !kept.has(t)), [], `row ${i} ${JSON.stringify(p)}: kept ${kept.size}`);
      }
    }
  });

  it('same seed, same tokens; another seed, other tokens (same logits)', () => {
    const p = (seed: number) => ({ temperature: 1, topP: 0.95, topK: 0, seed });
    const flat = LOGITS.map((l) => l / 4);
    const a = draws(flat, p(7), 64);
    assert.deepEqual(draws(flat, p(7), 64), a);
    const b = draws(flat, p(8), 64);
    assert.notDeepEqual(b, a);
    assert.ok(b.filter((t, i) => t !== a[i]).length > 20, 'most draws differ');
  });

  it('samples each row of a batch as its own sampler would, greedy rows by argmax', () => {
    const table = randomLogits(4, 500, 41);
    const params: SamplingParams[] = [
      { temperature: 0, topP: 1, topK: 0 },
      { temperature: 0.9, topP: 0.9, topK: 50, seed: 1 },
      { temperature: 0, topP: 1, topK: 0 },
      { temperature: 1.3, topP: 1, topK: 0, seed: 2 },
    ];
    const batch = params.map((q) => new RowSampler(q));
    const single = params.map((q) => new RowSampler(q));
    const logits = mx.array(table, mx.float32);
    // One token per row: a check of an empty draft each, read back together.
    const sampleBatch = (l: MxArray, rows: RowSampler[]) => verifyBatch(l, rows.map((sampler) => ({ sampler, draft: [] }))).map((v) => v.token);
    for (let step = 0; step < 8; step++) {
      const got = sampleBatch(logits, batch);
      assert.deepEqual(got, single.map((s, i) => s.sample(mx.array(table[i], mx.float32))), `step ${step}`);
      assert.equal(got[0], argmax(table[0]));
      assert.equal(got[2], argmax(table[2]));
    }
    assert.deepEqual(sampleBatch(logits, [0, 1, 2, 3].map(() => new RowSampler({ temperature: 0, topP: 1, topK: 0 }))), table.map(argmax));
  });

  it('checks drafts by speculative sampling: the tokens emitted follow the request\'s distribution', () => {
    // Draft [1, 0] at T 0.8 with top-p 0.9: the first emitted token must follow the filtered
    // distribution whatever was drafted (accepted with p(1), else drawn without 1), and the second,
    // after an accepted 1, follows the second row's distribution the same way.
    const p: SamplingParams = { temperature: 0.8, topP: 0.9, topK: 0 };
    const second = [...LOGITS].reverse();
    const one = [LOGITS, second, LOGITS];
    const first: number[] = [];
    const next: number[] = [];
    for (let start = 0; start < N; start += 200) {
      const samplers = Array.from({ length: 200 }, (_, i) => new RowSampler({ ...p, seed: start + i }));
      const logits = mx.array(samplers.flatMap(() => one), mx.float32);
      const verdicts = verifyBatch(logits, samplers.map((sampler) => ({ sampler, draft: [1, 0] })));
      for (const v of verdicts) {
        first.push(v.accepted >= 1 ? 1 : v.token);
        if (v.accepted >= 1) next.push(v.accepted >= 2 ? 0 : v.token);
      }
    }
    const tv = (got: number[], want: number[]) => {
      const freq = want.map((_, t) => got.filter((x) => x === t).length / got.length);
      return 0.5 * want.reduce((a, q, t) => a + Math.abs(q - freq[t]), 0);
    };
    assert.ok(tv(first, expected(LOGITS, p)) < TV_BOUND, `first token: total variation ${tv(first, expected(LOGITS, p)).toFixed(3)}`);
    assert.ok(next.length > 500, `${next.length} draws accepted the first draft token`);
    assert.ok(tv(next, expected(second, p)) < TV_BOUND + 0.02, `second token: total variation ${tv(next, expected(second, p)).toFixed(3)}`);
  });

  it('applies presence, frequency and repetition penalties to the tokens so far, as OpenAI and llama.cpp define them', () => {
    const row = mx.array([2, -1, 0.5, 3, 1], mx.float32);
    const base = { temperature: 0, topP: 1, topK: 0 };
    const close = (got: MxArrayLike, want: number[]) => (got.tolist() as number[]).forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-6, `${i}: ${v} vs ${want[i]}`));
    // Token 3 generated twice, token 0 once: presence once each, frequency per use.
    close(penalize(row, { ...base, presencePenalty: 0.5, frequencyPenalty: 0.25 }, [], [3, 0, 3]), [2 - 0.75, -1, 0.5, 3 - 1, 1]);
    // Repetition 2 over the last 3 tokens (prompt [4, 1], output [0]): positive halved, negative doubled, token 2 untouched.
    close(penalize(row, { ...base, repetitionPenalty: 2, repetitionWindow: 3 }, [2, 4, 1], [0]), [1, -2, 0.5, 3, 0.5]);
    close(penalize(row, { ...base, repetitionPenalty: 2, repetitionWindow: 1 }, [2, 4, 1], [0]), [1, -1, 0.5, 3, 1]);
    close(penalize(row, { ...base, repetitionPenalty: 2, repetitionWindow: -1 }, [2, 4, 1], [0]), [1, -2, 0.25, 3, 0.5]);
    close(penalize(row, { ...base, repetitionPenalty: 2, repetitionWindow: 0 }, [2, 4, 1], [0]), [2, -1, 0.5, 3, 1]);
    // A greedy row with a presence penalty picks another token once its favourite was used.
    const s = new RowSampler({ ...base, presencePenalty: 2 });
    const logits = mx.array([[2, -1, 0.5, 3, 1]], mx.float32);
    assert.equal(verifyBatch(logits, [{ sampler: s, draft: [], history: { prompt: [], output: [] } }])[0].token, 3);
    assert.equal(verifyBatch(logits, [{ sampler: s, draft: [], history: { prompt: [], output: [3] } }])[0].token, 0);
    // Checking a draft: the penalty at the second position counts the draft token before it.
    const two = mx.array([[2, -1, 0.5, 3, 1], [2, -1, 0.5, 3, 1]], mx.float32);
    assert.deepEqual(verifyBatch(two, [{ sampler: new RowSampler({ ...base, presencePenalty: 2 }), draft: [3], history: { prompt: [], output: [] } }])[0], { accepted: 1, token: 0 });
  });

  it('min_p keeps only tokens at least min_p times as likely as the most likely one', () => {
    const p: SamplingParams = { temperature: 1, topP: 1, topK: 0, minP: 0.2 };
    // softmax of LOGITS: p0 = 0.31; tokens with p >= 0.062 are 0..3 (0.17, 0.10, 0.069) and not 4 (0.046).
    const want = expected(LOGITS, { temperature: 1, topP: 1, topK: 4 });
    const got = draws(LOGITS, p, N);
    assert.ok(got.every((t) => t <= 3), 'no token below min_p x p(max)');
    const freq = want.map((_, t) => got.filter((x) => x === t).length / N);
    const tv = 0.5 * want.reduce((a, q, t) => a + Math.abs(q - freq[t]), 0);
    assert.ok(tv < TV_BOUND, `total variation ${tv.toFixed(3)}`);
  });
});
type MxArrayLike = { tolist(): unknown };
