// The engine's memory figures and MLX's buffer cache. On the CPU the meter reads this real
// process (its resident set and Linux's high-water mark). Metal cannot run here, so its meter and
// the engine's buffer-cache calls are checked against a recording of MLX's memory API that keeps
// counters the way MLX documents them.
import assert from 'node:assert/strict';
import { greedy, makeRunner, prompt } from './helpers';
import { waitFor } from '../helpers/wait-for';
import { MetalMeter, ProcessMeter, memoryMeter, parseVmHwm, procSelf, type MlxMemoryApi } from '../../src/server/memory-meter';
import { MemoryReclaimer, mlxBufferBytes } from '../../src/server/memory';
import { MlxEngine } from '../../src/server/engine/mlx-engine';
import { loadModel } from '../../src/server/loader';
import { Runner } from '../../src/batching/runner';
import { mx } from '../../src/server/mlx';
import { openInference } from '../../src/server/inference';
import { ensureFixtureModel } from '../../src/server/fixtures';

const MiB = 2 ** 20;

/** MLX's memory API as a recording: counters set by the test, every call kept. */
class RecordedMetal implements MlxMemoryApi {
  active = 0;
  cache = 0;
  peakActive = 0;
  calls: string[] = [];
  getActiveMemory = () => this.active;
  getCacheMemory = () => this.cache;
  getPeakMemory = () => this.peakActive;
  resetPeakMemory = () => {
    this.calls.push('resetPeakMemory');
    this.peakActive = this.active;
  };
  setCacheLimit = (limit: number) => {
    this.calls.push(`setCacheLimit(${limit})`);
    return 0;
  };
  clearCache = () => {
    this.calls.push('clearCache');
    this.cache = 0;
  };
}

describe('engine: memory figures and the buffer cache', function () {
  this.timeout(300_000);

  it('reads VmHWM from /proc/PID/status text', () => {
    assert.equal(parseVmHwm('Name:\tnode\nVmPeak:\t 100 kB\nVmHWM:\t   41208 kB\nVmRSS:\t 39000 kB\n'), 41208 * 1024);
    assert.equal(parseVmHwm('VmRSS:\t 39000 kB\n'), undefined);
  });

  it('CPU: the peak keeps memory that was touched and freed between two readings, and a reset starts it again', async () => {
    const meter = new ProcessMeter(procSelf, mx.metal);
    meter.resetPeak();
    const base = meter.inUse();
    // 256 MiB touched and freed with no sample in between, as an attention score tensor lives
    // and dies inside one forward pass.
    let transient: Buffer | undefined = Buffer.alloc(256 * MiB, 1);
    transient = undefined;
    void transient;
    new MemoryReclaimer().collect();
    const peak = meter.peak();
    assert.ok(peak - base >= 250 * MiB, `peak ${(peak / MiB).toFixed(0)} MiB, base ${(base / MiB).toFixed(0)} MiB: the transient was not seen`);
    // V8 frees a collected buffer's memory on a background thread.
    await waitFor(() => meter.inUse() < peak - 200 * MiB, 'the buffer to be returned (test set-up)', { state: () => meter.inUse() / MiB });
    meter.resetPeak();
    assert.ok(meter.peak() < peak - 200 * MiB, `after a reset the peak is ${(meter.peak() / MiB).toFixed(0)} MiB, still the old one`);
  });

  it('Metal: in use is active + cached + JS heap, the peak is MLX\'s counter, reset goes to MLX', () => {
    const api = new RecordedMetal();
    const meter = new MetalMeter(api);
    api.active = 300 * MiB;
    api.cache = 50 * MiB;
    api.peakActive = 900 * MiB;
    const heap = process.memoryUsage().heapTotal;
    const inUse = meter.inUse();
    assert.ok(Math.abs(inUse - (350 * MiB + heap)) < 8 * MiB, `in use ${inUse}`);
    assert.ok(Math.abs(meter.peak() - (950 * MiB + heap)) < 8 * MiB, `peak ${meter.peak()}`);
    meter.resetPeak();
    assert.deepEqual(api.calls, ['resetPeakMemory']);
    assert.ok(Math.abs(meter.peak() - inUse) < 8 * MiB, 'after a reset the peak is the memory in use');
  });

  it('the engine bounds MLX\'s buffer cache at start and empties it only when the batch is idle', async () => {
    const api = new RecordedMetal();
    const { runner } = await makeRunner({ bufferCacheBytes: 123 * MiB, meter: new MetalMeter(api) });
    assert.deepEqual(api.calls, [`setCacheLimit(${123 * MiB})`]);
    api.calls = [];
    const long = runner.submit(greedy(prompt(1, 16), 12));
    const short = runner.submit(greedy(prompt(2, 16), 2));
    await short.collect();
    assert.deepEqual(api.calls, [], 'cleared while a request was still running');
    await long.collect();
    assert.deepEqual(api.calls, ['clearCache']);
    // Again a turn later, once the collected wrappers have freed their buffers into the cache.
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(api.calls, ['clearCache', 'clearCache']);
  });

  it('collects fully once the MLX bytes dropped since the last full collection reach the bound', async () => {
    const reclaim = new MemoryReclaimer(3, 100);
    assert.equal(reclaim.dropped(60), false, 'below the bound the periodic collection frees them');
    assert.equal(reclaim.dropped(60), true, '120 bytes dropped: collected');
    assert.equal(reclaim.dropped(60), false, 'the collection paid the debt');
    // The periodic full collection (every 3rd step) pays it too.
    for (let i = 0; i < 3; i++) await reclaim.step();
    assert.equal(reclaim.dropped(60), false);
    assert.equal(reclaim.dropped(40), true);
  });

  it('the engine reports its meter: memory in use and the peak, reset by the runner', async () => {
    const api = new RecordedMetal();
    const { runner } = await makeRunner({ meter: new MetalMeter(api) });
    api.active = 10 * MiB;
    api.peakActive = 700 * MiB;
    const heap = process.memoryUsage().heapTotal;
    assert.ok(Math.abs(runner.stats().memoryBytes - (10 * MiB + heap)) < 8 * MiB);
    assert.ok(Math.abs(runner.peakMemoryBytes - (700 * MiB + heap)) < 8 * MiB);
    runner.resetPeakMemory();
    const afterReset = runner.peakMemoryBytes - process.memoryUsage().heapTotal;
    assert.ok(Math.abs(afterReset - 10 * MiB) < 8 * MiB, `the runner did not reset the engine's peak (${(afterReset / MiB).toFixed(0)} MiB past the JS heap)`);
  });

  it('a prompt pass frees each layer\'s intermediates before the next layers run', async () => {
    // llama-small (8 layers, D512, F1536), one 200-token pass evaluated every layer. Measured here:
    // MLX buffers grow about 0.5 MiB a layer (its keys and values) when the intermediates are
    // released, 10.3 MiB a layer when they stay until the pass ends.
    const loaded = await loadModel(await ensureFixtureModel('llama', 'small'));
    const meter = memoryMeter();
    const held: number[] = [];
    meter.sample = () => held.push(mlxBufferBytes()!);
    const engine = new MlxEngine(loaded.model, { prefixCacheTokens: 0, reclaimEveryLayers: 1, meter });
    await new Runner(engine, { prefillChunkTokens: 256 }).submit(greedy(prompt(3, 200), 1)).collect();
    const perLayer = held.slice(0, loaded.model.args.numHiddenLayers).map((b, i, all) => (i ? b - all[i - 1] : 0)).slice(1);
    assert.equal(perLayer.length, 7, `samples: ${held.length}`);
    for (const grown of perLayer) assert.ok(grown < 3 * MiB, `a layer kept ${(grown / MiB).toFixed(1)} MiB: ${perLayer.map((g) => (g / MiB).toFixed(1)).join(', ')} MiB`);
  });

  it('the server\'s stack bounds the buffer cache at half the memory plan\'s headroom', async () => {
    const api = new RecordedMetal();
    const dir = await ensureFixtureModel('llama', 'tiny');
    const { loaded } = await openInference(dir, { engine: { meter: new MetalMeter(api), prefixCacheTokens: 0 } });
    assert.ok(loaded.memory.headroomBytes > 512 * MiB);
    assert.equal(loaded.memory.bufferCacheBytes, Math.floor(loaded.memory.headroomBytes / 2));
    assert.deepEqual(api.calls, [`setCacheLimit(${loaded.memory.bufferCacheBytes})`]);
  });
});
