// The skinny-gemm shim sends one-row matmuls to sgemv: same numbers as sgemm, and really used.
import assert from 'node:assert/strict';
import { blasShim, mx } from '../../src/server/mlx';

describe('skinny-gemm BLAS shim', () => {
  before(function () {
    if (process.platform !== 'linux') this.skip();
    assert.ok(blasShim, 'build/native/skinny-gemm.node was not loaded: scripts/setup.sh builds it with cc');
  });

  it('routes one-row products to sgemv with the results of sgemm, in every transpose case', () => {
    const shim = blasShim!;
    const w = mx.random.normal([96, 80], mx.float32, 0, 1, mx.random.key(1));
    const x = mx.random.normal([1, 80], mx.float32, 0, 1, mx.random.key(2));
    const y = mx.random.normal([1, 96], mx.float32, 0, 1, mx.random.key(3));
    const cases = () => [mx.matmul(x, mx.transpose(w)), mx.matmul(y, w), mx.matmul(w, mx.transpose(x)), mx.matmul(mx.transpose(w), mx.transpose(y))];
    shim.setEnabled(false);
    const ref = cases().map((a) => a.tolist() as number[][]);
    shim.setEnabled(true);
    const [routed0] = shim.counts();
    const got = cases().map((a) => a.tolist() as number[][]);
    const [routed1] = shim.counts();
    assert.equal(routed1 - routed0, 4, 'each product went to sgemv');
    got.forEach((g, i) => {
      const a = g.flat();
      const b = ref[i].flat();
      const scale = Math.max(...b.map(Math.abs));
      const err = Math.max(...a.map((v, j) => Math.abs(v - b[j])));
      assert.ok(err / scale < 1e-5, `case ${i}: relative error ${err / scale}`);
    });
  });

  it('passes products with more rows to sgemm', () => {
    const shim = blasShim!;
    const [, passed0] = shim.counts();
    mx.eval(mx.matmul(mx.ones([4, 32]), mx.ones([32, 16])));
    assert.equal(shim.counts()[1] - passed0, 1);
  });
});
