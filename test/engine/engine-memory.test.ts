// Memory stays flat: node-mlx frees buffers only when their JS wrappers are collected, so a
// leak shows up as resident memory that keeps growing over many generations.
import assert from 'node:assert/strict';
import { greedy, makeRunner, prompt } from './helpers';
import { MemoryReclaimer } from '../../src/server/memory';

const MiB = 2 ** 20;

function settledRss(): number {
  new MemoryReclaimer().collect();
  return process.memoryUsage().rss;
}

describe('engine: memory', function () {
  this.timeout(600_000);

  it('stays flat over 500 generations in a row', async () => {
    const { runner } = await makeRunner({ prefixCacheTokens: 0 });
    const run = async (from: number, n: number) => {
      for (let i = from; i < from + n; i++) await runner.submit(greedy(prompt(i, 24 + (i % 9)), 4)).collect();
    };
    await run(0, 50);
    const before = settledRss();
    await run(50, 450);
    const after = settledRss();
    const growth = (after - before) / MiB;
    assert.ok(growth < 48, `resident memory grew ${growth.toFixed(1)} MiB over 450 generations`);
  });

  it('stays flat over 1,000 requests through the batch engine (8 at a time, prefix store under its cap)', async () => {
    const { runner, engine } = await makeRunner({ prefixCacheTokens: 2048 }, { maxBatch: 8 });
    const wave = async (from: number, n: number) => {
      const all: Promise<unknown>[] = [];
      for (let i = from; i < from + n; i++) all.push(runner.submit(greedy(prompt(i, 32 + (i % 13)), 4)).collect());
      await Promise.all(all);
    };
    for (let i = 0; i < 96; i += 8) await wave(i, 8);
    const before = settledRss();
    for (let i = 96; i < 1000; i += 8) await wave(i, Math.min(8, 1000 - i));
    const after = settledRss();
    const growth = (after - before) / MiB;
    assert.equal(engine.batchSize, 0);
    assert.ok(engine.prefixStore.tokens <= 2048);
    assert.ok(growth < 48, `resident memory grew ${growth.toFixed(1)} MiB over 904 requests`);
  });
});
