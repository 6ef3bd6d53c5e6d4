// The fused SwiGLU gives the numbers of the plain ops, in a forward pass and through autograd.
import assert from 'node:assert/strict';
import { mx, type MxArray } from '../../../src/server/mlx';
import { swiglu } from '../../../src/server/model/swiglu';

const plain = (g: MxArray, u: MxArray) => mx.multiply(mx.multiply(g, mx.sigmoid(g)), u);
const maxDiff = (a: MxArray, b: MxArray) => mx.max(mx.abs(mx.subtract(a, b))).item() as number;

describe('swiglu (fused by mx.compile)', () => {
  it('equals silu(gate) * up for several shapes', () => {
    for (const shape of [[3], [2, 5, 64], [1, 1, 4864]]) {
      const g = mx.random.normal(shape, mx.float32, 0, 3, mx.random.key(1));
      const u = mx.random.normal(shape, mx.float32, 0, 1, mx.random.key(2));
      assert.ok(maxDiff(swiglu(g, u), plain(g, u)) <= 1e-6, `shape ${shape.join('x')}`);
    }
  });

  it('has the gradient of the plain ops', () => {
    const g = mx.random.normal([4, 16], mx.float32, 0, 2, mx.random.key(3));
    const u = mx.random.normal([4, 16], mx.float32, 0, 1, mx.random.key(4));
    const loss = (f: typeof plain) => (a: MxArray, b: MxArray) => mx.sum(f(a, b));
    const [ga, gb] = mx.grad(loss(swiglu), [0, 1])(g, u) as unknown as MxArray[];
    const [pa, pb] = mx.grad(loss(plain), [0, 1])(g, u) as unknown as MxArray[];
    assert.ok(maxDiff(ga, pa) <= 1e-5);
    assert.ok(maxDiff(gb, pb) <= 1e-5);
  });
});
