// The BLAS shim sends products of 1-48 rows against a transposed weight to its small-M kernel and
// the other one-row / one-column products down its sgemv route: same numbers as sgemm, really used.
import assert from 'node:assert/strict';
import { MemoryReclaimer, mlxBufferBytes, yieldToEventLoop } from '../../../src/server/memory';
import { blasShim, mx, type MxArray } from '../../../src/server/mlx';

describe('BLAS shim', () => {
  before(function () {
    if (process.platform !== 'linux') this.skip();
    assert.ok(blasShim, 'build/native/skinny-gemm.node was not loaded: scripts/setup.sh builds it with cc');
  });

  it('routes one-row products to the kernel or sgemv with the results of sgemm, in every transpose case', () => {
    const shim = blasShim!;
    const w = mx.random.normal([96, 80], mx.float32, 0, 1, mx.random.key(1));
    const x = mx.random.normal([1, 80], mx.float32, 0, 1, mx.random.key(2));
    const y = mx.random.normal([1, 96], mx.float32, 0, 1, mx.random.key(3));
    const cases = () => [mx.matmul(x, mx.transpose(w)), mx.matmul(y, w), mx.matmul(w, mx.transpose(x)), mx.matmul(mx.transpose(w), mx.transpose(y))];
    shim.setEnabled(false);
    const ref = cases().map((a) => a.tolist() as number[][]);
    shim.setEnabled(true);
    const [routed0, , small0] = shim.counts();
    const got = cases().map((a) => a.tolist() as number[][]);
    const [routed1, , small1] = shim.counts();
    // x w^T (a linear layer) goes to the small-M kernel, the three other layouts to sgemv.
    assert.equal(small1 - small0, 1, 'x w^T went to the small-M kernel');
    assert.equal(routed1 - routed0, 3, 'the other products took the one-row sgemv route');
    got.forEach((g, i) => {
      const a = g.flat();
      const b = ref[i].flat();
      const scale = Math.max(...b.map(Math.abs));
      const err = Math.max(...a.map((v, j) => Math.abs(v - b[j])));
      assert.ok(err / scale < 1e-5, `case ${i}: relative error ${err / scale}`);
    });
  });

  const relativeError = (got: number[], want: number[]) => {
    const scale = Math.max(...want.map(Math.abs));
    return Math.max(...got.map((v, j) => Math.abs(v - want[j]))) / scale;
  };

  /**
   * x[m, k] w[n, k]^T, plain and as addmm with a bias (alpha, beta), both in the small-M kernel with
   * sgemm's results (the shim off) within 1e-5; `key` seeds the random inputs.
   */
  const kernelMatchesSgemm = (m: number, k: number, n: number, key: number): void => {
    const shim = blasShim!;
    const x = mx.random.normal([m, k], mx.float32, 0, 1, mx.random.key(key));
    const w = mx.random.normal([n, k], mx.float32, 0, 1, mx.random.key(key + 1));
    const bias = mx.random.normal([n], mx.float32, 0, 1, mx.random.key(key + 2));
    const cases = () => [mx.matmul(x, mx.transpose(w)), mx.addmm(bias, x, mx.transpose(w), 0.5, 2)];
    shim.setEnabled(false);
    const ref = cases().map((a) => (a.tolist() as number[][]).flat());
    shim.setEnabled(true);
    const small0 = shim.counts()[2];
    const got = cases().map((a) => (a.tolist() as number[][]).flat());
    assert.equal(shim.counts()[2] - small0, 2, `${m}x${k} by ${n}x${k}: both products in the kernel`);
    got.forEach((g, i) => assert.ok(relativeError(g, ref[i]) < 1e-5, `${m}x${k} by ${n}x${k}, case ${i}: relative error ${relativeError(g, ref[i])}`));
  };

  it('computes 2-48-row products against a transposed weight in the small-M kernel, as sgemm does', () => {
    // Row counts 2..48 with edges (M % 4), K with a tail (K % 16), N with a tail (N % 4), and N
    // large enough that the work is split between threads.
    const shapes: [number, number, number][] = [[2, 80, 96], [3, 100, 97], [5, 64, 16], [8, 896, 1100], [13, 33, 600], [16, 256, 2048], [33, 64, 520], [48, 40, 64]];
    shapes.forEach(([m, k, n], i) => kernelMatchesSgemm(m, k, n, 10 + 3 * i));
  });

  it('computes one-row products against a transposed weight in the kernel, eight weight rows at a time, as sgemm does', () => {
    // One row of activations: N a multiple of 8, one block of 4 over it (N % 8 = 4), a tail (N % 4); K with a
    // tail (K % 16); and N large enough that the rows of the weight are split between threads.
    const shapes: [number, number][] = [[80, 96], [80, 100], [83, 103], [37, 20], [896, 1100], [64, 16]];
    shapes.forEach(([k, n], i) => kernelMatchesSgemm(1, k, n, 60 + 3 * i));
  });

  it('passes products with more rows, or an untransposed weight, to sgemm', () => {
    const shim = blasShim!;
    const [, passed0, small0] = shim.counts();
    mx.eval(mx.matmul(mx.ones([49, 64]), mx.transpose(mx.ones([48, 64]))));
    mx.eval(mx.matmul(mx.ones([4, 32]), mx.ones([32, 16])));
    assert.equal(shim.counts()[1] - passed0, 2);
    assert.equal(shim.counts()[2], small0);
  });

  it("lets the kernel's worker threads sleep soon after a product, so they do not take a core from the work that follows", async function () {
    const shim = blasShim!;
    // A product wide enough to be split between threads (>= 64 blocks of 4 rows per thread).
    const x = mx.random.normal([8, 512], mx.float32, 0, 1, mx.random.key(40));
    const w = mx.random.normal([4096, 512], mx.float32, 0, 1, mx.random.key(41));
    mx.eval(x, w);
    const idleCpuMs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const small0 = shim.counts()[2];
      mx.eval(mx.matmul(x, mx.transpose(w)));
      assert.equal(shim.counts()[2] - small0, 1, 'the product ran in the small-M kernel');
      // CPU time of the whole process while this thread only sleeps: what the workers spin.
      const before = process.cpuUsage();
      await new Promise((resolve) => setTimeout(resolve, 30));
      const used = process.cpuUsage(before);
      idleCpuMs.push((used.user + used.system) / 1000);
    }
    idleCpuMs.sort((a, b) => a - b);
    // Spinning 200,000 pauses after each job burned ~5 ms of a core here; ~2,000 burn ~0.05 ms.
    assert.ok(idleCpuMs[2] < 2, `median CPU time while idle 30 ms after a product: ${idleCpuMs[2].toFixed(2)} ms`);
  });

  it('counts MLX buffers in mallocBytes (mlxBufferBytes): up by what is allocated, down when it is freed', async () => {
    const settle = async () => {
      for (let i = 0; i < 3; i++) {
        new MemoryReclaimer().collect();
        await yieldToEventLoop();
      }
      return mlxBufferBytes()!;
    };
    const base = await settle();
    // 100 small buffers (kept in malloc's heap) and 4 large ones (mapped): 0.4 MiB + 16 MiB.
    let held: MxArray[] | undefined = [...Array.from({ length: 100 }, () => mx.ones([1024])), ...Array.from({ length: 4 }, () => mx.ones([1024, 1024]))];
    mx.eval(...held);
    const grown = mlxBufferBytes()! - base;
    assert.ok(grown >= 16.4 * 2 ** 20 && grown < 17 * 2 ** 20, `${grown} bytes for 16.4 MiB of arrays`);
    held = undefined;
    const left = (await settle()) - base;
    assert.ok(Math.abs(left) < 0.25 * 2 ** 20, `${left} bytes left once the arrays are collected`);
  });
});
