// RoPE from per-row positions against mx.fast.rope (one scalar offset) on single rows, and
// per-row offsets in one batch against each row alone.
import assert from 'node:assert/strict';
import { mx, type MxArray } from '../../../src/server/mlx';
import { RotaryEmbedding } from '../../../src/server/model/rope';

const maxDiff = (a: MxArray, b: MxArray) => mx.abs(mx.subtract(a, b)).max().item() as number;
const positions = (rows: number[][]) => mx.array(rows, mx.int32);
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

describe('rotary embedding from per-row positions', function () {
  const x = mx.random.normal([1, 3, 5, 16], mx.float32, 0, 1, mx.random.key(3));

  for (const offset of [0, 7, 1000]) {
    it(`matches mx.fast.rope at offset ${offset}`, function () {
      const rope = new RotaryEmbedding(16, 10000);
      const ours = rope.apply(x, rope.tables(positions([range(offset, 5)]), mx.float32));
      assert.ok(maxDiff(ours, mx.fast.rope(x, 16, false, 10000, 1, offset)) < 1e-4);
    });
  }

  it('linear scaling matches mx.fast.rope with scale 1/factor', function () {
    const rope = new RotaryEmbedding(16, 500000, { type: 'linear', factor: 4 });
    const ours = rope.apply(x, rope.tables(positions([range(33, 5)]), mx.float32));
    assert.ok(maxDiff(ours, mx.fast.rope(x, 16, false, 500000, 0.25, 33)) < 1e-4);
  });

  it('rows at different offsets in one batch equal each row alone', function () {
    const xb = mx.random.normal([3, 2, 4, 8], mx.float32, 0, 1, mx.random.key(4));
    const rope = new RotaryEmbedding(8, 10000);
    const offsets = [0, 9, 40];
    const batched = rope.apply(xb, rope.tables(positions(offsets.map((o) => range(o, 4))), mx.float32));
    offsets.forEach((o, r) => {
      const row = xb.index(mx.Slice(r, r + 1));
      assert.ok(maxDiff(batched.index(mx.Slice(r, r + 1)), mx.fast.rope(row, 8, false, 10000, 1, o)) < 1e-4);
    });
    // A wrong offset must show.
    assert.ok(maxDiff(batched.index(mx.Slice(1, 2)), mx.fast.rope(xb.index(mx.Slice(1, 2)), 8, false, 10000, 1, 10)) > 1e-2);
  });
});
