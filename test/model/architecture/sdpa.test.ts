// Attention on the CPU backend as compiled pieces (src/server/model/sdpa.ts) gives the numbers of
// MLX's own scaled-dot-product attention: grouped and plain heads, one and several rows, blocks
// that take their row sums from the product with the values and blocks that reduce them, padded
// rows and a row that sees nothing, a long row split over two CPU streams, and the gradient
// training takes through it.
import assert from 'node:assert/strict';
import { mx, type MxArray } from '../../../src/server/mlx';
import { currentDevice } from '../../../src/server/device';
import { cpuAttentionOn, scaledDotProductAttention, TWO_STREAM_SCORES } from '../../../src/server/model/sdpa';

const maxDiff = (a: MxArray, b: MxArray) => mx.max(mx.abs(mx.subtract(a, b))).item() as number;

/** MLX's own attention, shaped as the models hand it a mask. */
function mlxAttention(q: MxArray, k: MxArray, v: MxArray, scale: number, mask: MxArray | undefined): MxArray {
  const m = mask && q.shape[1] !== k.shape[1] ? mask.reshape([mask.shape[0], 1, 1, q.shape[2], -1]) : mask;
  return mx.fast.scaledDotProductAttention(q, k, v, scale, m);
}

/** An additive mask [B, 1, L, S] as the batch cache builds it: causal, rows left-padded by `pads`, -1e9 where hidden. */
function paddedCausalMask(pads: number[], l: number, s: number): MxArray {
  const cols = mx.arange(0, s, 1, mx.int32).reshape([1, 1, 1, s]);
  const queries = mx.arange(s - l, s, 1, mx.int32).reshape([1, 1, l, 1]);
  const first = mx.array(pads, mx.int32).reshape([pads.length, 1, 1, 1]);
  return mx.where(mx.logicalAnd(mx.lessEqual(cols, queries), mx.greaterEqual(cols, first)), mx.array(0, mx.float32), mx.array(-1e9, mx.float32));
}

function inputs(b: number, heads: number, kvHeads: number, l: number, s: number, d: number, seed: number): [MxArray, MxArray, MxArray] {
  const key = (i: number) => mx.random.key(seed * 10 + i);
  return [mx.random.normal([b, heads, l, d], mx.float32, 0, 2, key(1)), mx.random.normal([b, kvHeads, s, d], mx.float32, 0, 2, key(2)), mx.random.normal([b, kvHeads, s, d], mx.float32, 0, 1, key(3))];
}

describe('scaled dot-product attention (CPU path)', () => {
  before(function () {
    // The path this file tests runs on the CPU backend, where these tests run (Linux).
    assert.equal(currentDevice(), 'cpu');
    assert.ok(cpuAttentionOn(), 'MLX_BATCH_CPU_ATTENTION=0 is set: the CPU path would not run');
  });

  const cases: [string, number, number, number, number, number, number[] | undefined][] = [
    // name, batch, heads, kvHeads, queries, keys, left padding per row (undefined: no mask)
    ['one decode row, grouped heads, no mask', 1, 14, 2, 1, 40, undefined],
    ['eight decode rows over padded keys', 8, 14, 2, 1, 300, [0, 5, 17, 250, 3, 0, 299, 100]],
    ['rows of a draft (4 queries each)', 3, 8, 2, 4, 90, [0, 40, 7]],
    ['a prompt chunk: a tall block, sums from the product', 1, 14, 2, 70, 200, [0]],
    ['a prompt chunk, plain multi-head attention', 2, 4, 4, 80, 80, [0, 30]],
    ['a long prompt chunk of one row: halves of the key/value heads on two streams', 1, 4, 2, 520, 520, [0]],
  ];
  for (const [name, b, heads, kvHeads, l, s, pads] of cases) {
    it(`equals MLX's own: ${name}`, () => {
      const [q, k, v] = inputs(b, heads, kvHeads, l, s, 64, l + s);
      // The case that names two streams is large enough to take them; the others are not.
      assert.equal(b === 1 && heads * l * s >= TWO_STREAM_SCORES, name.includes('two streams'));
      const mask = pads ? paddedCausalMask(pads, l, s) : undefined;
      const ours = scaledDotProductAttention(q, k, v, 0.125, mask);
      assert.deepEqual(ours.shape, [b, heads, l, 64]);
      const diff = maxDiff(ours, mlxAttention(q, k, v, 0.125, mask));
      assert.ok(diff <= 2e-5, `max difference ${diff}`);
    });
  }

  it('gives a row that sees no key uniform weights, as MLX does, and no NaN', () => {
    const [q, k, v] = inputs(1, 4, 2, 3, 10, 16, 7);
    // Query row 0 sees nothing (a padding query); the others see the keys up to themselves.
    const mask = mx.where(mx.array([[[[0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]]]], mx.bool_), mx.array(0, mx.float32), mx.array(-1e9, mx.float32));
    const ours = scaledDotProductAttention(q, k, v, 0.25, mask);
    assert.equal(mx.any(mx.isnan(ours)).item(), false);
    assert.ok(maxDiff(ours, mlxAttention(q, k, v, 0.25, mask)) <= 2e-5);
  });

  it('stays finite where the scores are far beyond the range of exp', () => {
    const [q, k, v] = inputs(1, 4, 2, 70, 70, 16, 9);
    const mask = paddedCausalMask([0], 70, 70);
    const big = mx.multiply(q, 40);
    const ours = scaledDotProductAttention(big, k, v, 0.25, mask);
    assert.equal(mx.any(mx.isnan(ours)).item(), false);
    assert.ok(maxDiff(ours, mlxAttention(big, k, v, 0.25, mask)) <= 2e-5);
  });

  for (const [name, b, l, pads] of [['rows of a batch', 2, 12, [0, 4]], ['one long row, on two streams', 1, 520, [0]]] as const) {
    it(`has the gradient of MLX's own with respect to queries, keys and values: ${name}`, () => {
      const [q, k, v] = inputs(b, 4, 2, l, l, 16, 3);
      const mask = paddedCausalMask([...pads], l, l);
      const loss = (f: typeof mlxAttention) => (a: MxArray, bb: MxArray, c: MxArray) => mx.sum(mx.multiply(f(a, bb, c, 0.25, mask), mx.arange(16, mx.float32)));
      const ours = mx.grad(loss(scaledDotProductAttention), [0, 1, 2])(q, k, v) as unknown as MxArray[];
      const theirs = mx.grad(loss(mlxAttention), [0, 1, 2])(q, k, v) as unknown as MxArray[];
      ours.forEach((g, i) => {
        // Relative to the gradient's size: over 520 rows the sums reach the hundreds.
        const rel = maxDiff(g, theirs[i]) / (mx.max(mx.abs(theirs[i])).item() as number);
        assert.ok(rel <= 1e-5, `gradient ${i}: relative difference ${rel}`);
      });
    });
  }
});
