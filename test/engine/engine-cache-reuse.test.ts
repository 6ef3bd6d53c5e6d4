// Reuse of a prompt run from another position of a stored prompt (`--cache-reuse`), on the real
// node-mlx engine: the moved keys are the keys of the new positions (checked exactly where keys do
// not depend on context: the first layer), and the engine serves such runs to a new request.
import assert from 'node:assert/strict';
import { greedy, makeRunner, prompt, tinyModel } from './helpers';
import { BatchKVCache } from '../../src/server/cache/batch-kv-cache';
import { mx, type MxArray } from '../../src/server/mlx';

/** Layer `layer`'s keys (or values) of the first `n` columns of a single-row cache. */
function layerData(cache: BatchKVCache, layer: number, values: boolean, n: number): number[] {
  const a = cache.arrays()[(values ? cache.numLayers : 0) + layer] as MxArray;
  return (a.index(mx.Slice(), mx.Slice(), mx.Slice(0, n)).astype(mx.float32).reshape([-1]).tolist() as number[]);
}

const maxDiff = (a: number[], b: number[]) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

describe('engine: reusing a run from another position (cache reuse)', function () {
  this.timeout(300_000);

  it('moves a run\'s keys to their new positions: the first layer equals a fresh pass there', async () => {
    const { model } = await tinyModel();
    const before = prompt(31, 40);
    const run = prompt(32, 30);
    const full = new BatchKVCache(model.args.numHiddenLayers);
    mx.eval(model.forward(mx.array([...before, ...run], mx.int32).reshape([1, 70]), full), ...full.arrays());
    const fresh = new BatchKVCache(model.args.numHiddenLayers);
    mx.eval(model.forward(mx.array(run, mx.int32).reshape([1, 30]), fresh), ...fresh.arrays());
    const moved = full.extract(0, 30, 40, (keys) => model.shiftKeys(keys, -40));
    const kept = full.extract(0, 30, 40);
    mx.eval(...moved.arrays(), ...kept.arrays());
    assert.ok(maxDiff(layerData(moved, 0, false, 30), layerData(fresh, 0, false, 30)) < 1e-4, 'first-layer keys of the new positions');
    assert.ok(maxDiff(layerData(moved, 0, true, 30), layerData(fresh, 0, true, 30)) < 1e-4, 'values do not depend on position');
    assert.ok(maxDiff(layerData(kept, 0, false, 30), layerData(fresh, 0, false, 30)) > 1e-2, 'unmoved keys are those of the old positions');
    // Deeper layers saw the tokens before the run: reuse there is an approximation.
    assert.ok(maxDiff(layerData(moved, 1, false, 30), layerData(fresh, 1, false, 30)) > 1e-4);
  });

  it('serves the run after the prefix to a request whose prompt lost a piece before it', async () => {
    const header = prompt(40, 6);
    const gone = prompt(41, 30);
    const kept = prompt(42, 50);
    const a = [...header, ...gone, ...kept, ...prompt(43, 5)];
    const b = [...header, ...kept, ...prompt(44, 5)];
    const on = await makeRunner({ prefixCacheTokens: 4096, cacheReuseTokens: 16 });
    await on.runner.submit(greedy(a, 2)).collect();
    const reused = await on.runner.submit(greedy(b, 4)).collect();
    assert.equal(reused.usage.cachedTokens, header.length + kept.length, 'the header as a prefix, then the run moved up');
    assert.equal(on.engine.movedTokens, kept.length);
    assert.equal(reused.tokens.length, 4);
    const off = await makeRunner({ prefixCacheTokens: 4096 });
    await off.runner.submit(greedy(a, 2)).collect();
    assert.equal((await off.runner.submit(greedy(b, 4)).collect()).usage.cachedTokens, header.length, 'off: the exact prefix only');
  });
});
