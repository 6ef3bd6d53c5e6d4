import assert from 'node:assert/strict';
import type { GenerationEvent } from '../../../src/batching/generation-stream';
import { MEMORY_SAMPLE_MS, Runner } from '../../../src/batching/runner';
import { MlxBatchError } from '../../../src/shared/errors';
import { FakeEngine, type FakeEngineOptions } from './helpers/fake-engine';
import { FakeClock, FakeDecoder, prompt } from './helpers/scheduling';
import type { RunnerOptions } from '../../../src/batching/runner';

function setup(options: Partial<RunnerOptions> = {}, engineOptions: FakeEngineOptions = {}): { engine: FakeEngine; runner: Runner } {
  const engine = new FakeEngine(engineOptions);
  return { engine, runner: new Runner(engine, options) };
}

async function events(stream: AsyncIterable<GenerationEvent>): Promise<GenerationEvent[]> {
  const out: GenerationEvent[] = [];
  for await (const ev of stream) out.push(ev);
  return out;
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('Runner', () => {
  it('streams text deltas with token ids, then finish with usage', async () => {
    const { runner } = setup();
    const evs = await events(runner.submit({ promptTokens: [1, 2], maxTokens: 3, decoder: new FakeDecoder({ 3: 'a', 4: 'b', 5: 'c' }) }));
    assert.deepEqual(evs.slice(0, 3), [
      { type: 'delta', text: 'a', tokens: [3] },
      { type: 'delta', text: 'b', tokens: [4] },
      { type: 'delta', text: 'c', tokens: [5] },
    ]);
    const done = evs[3];
    assert.equal(done.type, 'finish');
    if (done.type !== 'finish') return;
    assert.equal(done.finishReason, 'length');
    assert.deepEqual(done.usage, { promptTokens: 2, completionTokens: 3, cachedTokens: 0, acceptedDraftTokens: 0, rejectedDraftTokens: 0 });
    assert.ok(done.timing.ttftMs !== undefined && done.timing.totalMs >= done.timing.ttftMs);
  });

  it('batches concurrent requests into one decode list', async () => {
    const { engine, runner } = setup({ maxBatch: 4 });
    const results = await Promise.all([1, 10, 20, 30].map((p) => runner.submit({ promptTokens: [p], maxTokens: 4 }).collect()));
    assert.deepEqual(results.map((r) => r.tokens), [[2, 3, 4, 5], [11, 12, 13, 14], [21, 22, 23, 24], [31, 32, 33, 34]]);
    assert.ok(engine.plans.some((p) => p.decode.length === 4), 'no step decoded all four together');
    assert.equal(engine.rows.size, 0);
  });

  it('joins a request submitted while others are decoding', async () => {
    const { engine, runner } = setup();
    const a = runner.submit({ promptTokens: [1], maxTokens: 20 });
    const it = a[Symbol.asyncIterator]();
    await it.next();
    await it.next();
    const b = await runner.submit({ promptTokens: [50], maxTokens: 3 }).collect();
    assert.deepEqual(b.tokens, [51, 52, 53]);
    const joined = engine.plans.find((p) => p.prefill.some((c) => c.id !== 'req-1'));
    assert.ok(joined && joined.decode.includes('req-1'), 'b did not join while a was decoding');
    a.abort();
  });

  it('an AbortSignal cancels a running request: done with abort, row released, others unharmed', async () => {
    const { engine, runner } = setup();
    const ac = new AbortController();
    const a = runner.submit({ promptTokens: [1], maxTokens: 1000 }, ac.signal);
    const b = runner.submit({ promptTokens: [100], maxTokens: 8 });
    const seen: GenerationEvent[] = [];
    for await (const ev of a) {
      seen.push(ev);
      if (seen.length === 3) ac.abort();
    }
    const last = seen.at(-1)!;
    assert.equal(last.type, 'finish');
    assert.equal(last.type === 'finish' && last.finishReason, 'abort');
    assert.equal((await b.collect()).tokens.length, 8);
    await runner.idle();
    assert.ok(engine.released.includes(a.id));
    assert.equal(engine.rows.size, 0);
    assert.equal(runner.metrics().requestsFinished.abort, 1);
    assert.deepEqual(runner.metrics().errors, {});
  });

  it('leaving the loop early aborts the request', async () => {
    const { engine, runner } = setup();
    const a = runner.submit({ promptTokens: [1], maxTokens: 1000 });
    for await (const ev of a) if (ev.type === 'delta') break;
    await runner.idle();
    assert.ok(engine.released.includes(a.id));
    assert.ok(engine.plans.length < 20);
  });

  it('a signal that is already aborted ends the request before it runs', async () => {
    const { engine, runner } = setup();
    const ac = new AbortController();
    ac.abort();
    const r = await runner.submit({ promptTokens: [1], maxTokens: 5 }, ac.signal).collect();
    assert.equal(r.finishReason, 'abort');
    await runner.idle();
    assert.equal(engine.added.length, 0);
  });

  it('rejects at once past the queue limit with overloaded, and counts it', async () => {
    const { runner } = setup({ maxWaiting: 2, maxBatch: 1 }); // all three are still waiting in this tick
    const a = runner.submit({ promptTokens: [1], maxTokens: 3 });
    const b = runner.submit({ promptTokens: [1], maxTokens: 3 });
    assert.throws(() => runner.submit({ promptTokens: [1], maxTokens: 3 }), (e: unknown) => e instanceof MlxBatchError && e.type === 'overloaded');
    assert.equal(runner.metrics().errors.overloaded, 1);
    await Promise.all([a.collect(), b.collect()]);
  });

  it('rejects a bad request synchronously', () => {
    const { runner } = setup({}, { contextLength: 16 });
    assert.throws(() => runner.submit({ promptTokens: prompt(16), maxTokens: 1 }), (e: unknown) => e instanceof MlxBatchError && e.type === 'context_length_exceeded');
    assert.throws(() => runner.submit({ promptTokens: [], maxTokens: 1 }), (e: unknown) => e instanceof MlxBatchError && e.type === 'validation');
  });

  it('an engine.step failure fails only that step\'s requests and the runner keeps serving', async () => {
    const { engine, runner } = setup({ maxBatch: 2 }, { failWhen: (_p, i) => i === 2 });
    const a = runner.submit({ promptTokens: [1], maxTokens: 10 });
    const b = runner.submit({ promptTokens: [1], maxTokens: 10 });
    const c = runner.submit({ promptTokens: [1], maxTokens: 2 });
    for (const s of [a, b]) {
      await assert.rejects(s.collect(), (e: unknown) => e instanceof MlxBatchError && e.type === 'internal' && /step 2 failed/.test(e.message));
    }
    assert.equal((await c.collect()).finishReason, 'length');
    assert.equal((await runner.submit({ promptTokens: [1], maxTokens: 2 }).collect()).tokens.length, 2);
    assert.equal(runner.metrics().errors.internal, 2);
    assert.equal(runner.metrics().requestsFinished.error, 2);
    await runner.idle();
    assert.equal(engine.rows.size, 0);
  });

  it('idles with no steps when there is no work', async () => {
    const { engine, runner } = setup();
    await runner.submit({ promptTokens: [1], maxTokens: 2 }).collect();
    await runner.idle();
    const steps = engine.plans.length;
    for (let i = 0; i < 20; i++) await tick();
    assert.equal(engine.plans.length, steps);
    assert.equal((await runner.submit({ promptTokens: [1], maxTokens: 2 }).collect()).tokens.length, 2);
  });

  it('switches batching off live: later steps run one request', async () => {
    const { engine, runner } = setup({ maxBatch: 4 });
    const streams = [1, 2, 3].map((p) => runner.submit({ promptTokens: [p], maxTokens: 30 }));
    const first = streams[0][Symbol.asyncIterator]();
    await first.next();
    runner.setBatching(false);
    assert.equal(runner.stats().maxBatch, 1);
    assert.equal(runner.stats().batching, false);
    const late = [4, 5].map((p) => runner.submit({ promptTokens: [p], maxTokens: 3 }));
    for (const s of streams) s.abort();
    await Promise.all(late.map((s) => s.collect()));
    const lateIds = new Set(late.map((s) => s.id));
    for (const p of engine.plans) {
      const ids = [...p.decode, ...p.prefill.map((c) => c.id)].filter((id) => lateIds.has(id));
      assert.ok(ids.length === 0 || p.decode.length + p.prefill.length === 1, 'a late request ran in a batch while batching was off');
    }
  });

  it('reports live stats and metrics as plain data', async () => {
    const { runner } = setup({ maxBatch: 2 });
    await Promise.all([1, 2, 3].map((p) => runner.submit({ promptTokens: [p, p], maxTokens: 5 }).collect()));
    const m = runner.metrics();
    assert.equal(m.tokensGenerated, 15);
    assert.equal(m.promptTokens, 6);
    assert.equal(m.requestsFinished.length, 3);
    assert.equal(m.timeToFirstTokenMs.count, 3);
    assert.equal(m.batchSize.count, m.steps);
    assert.equal(m.batchSize.buckets.at(-1)!.count, m.steps);
    assert.ok(m.batchSize.buckets.find((b) => b.le === 1)!.count < m.steps, 'no step ran two rows');
    const s = runner.stats();
    assert.equal(s.running, 0);
    assert.equal(s.waiting, 0);
    assert.equal(s.requestsTotal, 3);
    assert.ok(s.tokensPerSecond > 0);
    assert.equal(runner.peakMemoryBytes, 2000, 'the peak is the engine\'s: two rows at most (max batch 2), 1000 bytes each');
    runner.resetPeakMemory();
    assert.equal(runner.peakMemoryBytes, 0, 'after a reset, the engine\'s peak with no rows');
  });

  it('splits engine time between prompt steps (decode rows beside a chunk included) and decode-only steps', async () => {
    const clock = new FakeClock();
    // Every step takes 10 ms of fake time, plus 100 ms when it computes a prompt chunk (no limit on
    // prompt tokens beside decode rows: decodeGapFactor 0).
    const { engine, runner } = setup({ now: clock.now, prefillChunkTokens: 4, decodeGapFactor: 0 }, { onStep: (plan) => clock.advance(10 + (plan.prefill.length > 0 ? 100 : 0)) });
    const a = runner.submit({ promptTokens: prompt(2), maxTokens: 6 });
    const first = a[Symbol.asyncIterator]();
    await first.next();
    // B arrives while A decodes: its 8-token prompt takes two steps beside A's decode row.
    const b = runner.submit({ promptTokens: prompt(8), maxTokens: 2 }).collect();
    for (let r = await first.next(); !r.done; r = await first.next());
    await b;
    const prompts = engine.plans.filter((p) => p.prefill.length > 0);
    assert.equal(prompts.length, 3, 'A alone, then B in two chunks');
    assert.ok(prompts.slice(1).every((p) => p.decode.length === 1), 'B\'s chunks share steps with A\'s decode row');
    const decodeOnly = engine.plans.length - prompts.length;
    assert.deepEqual(runner.stepTime(), { promptMs: 3 * 110, decodeMs: decodeOnly * 10 });
  });

  it('reads the engine\'s memory at most every MEMORY_SAMPLE_MS while it runs, not after every step', async () => {
    const clock = new FakeClock();
    const { engine, runner } = setup({ now: clock.now }, { onStep: () => clock.advance(10) });
    let reads = 0;
    const stats = engine.stats.bind(engine);
    engine.stats = () => {
      reads++;
      return stats();
    };
    const stream = runner.submit({ promptTokens: prompt(2), maxTokens: 60 })[Symbol.asyncIterator]();
    let seen = 0;
    for (let r = await stream.next(); !r.done; r = await stream.next()) {
      // While the request runs, the figure is the last one read: one row's 1000 bytes.
      seen = Math.max(seen, runner.stats().memoryBytes);
    }
    const steps = engine.plans.length;
    assert.ok(steps >= 60, `${steps} steps`);
    // 60 steps of 10 ms: read at the first step, then every 250 ms of engine time, and once more
    // when asked after the last step (the loop has stopped: read when asked).
    assert.ok(reads >= 2 && reads <= 2 + Math.ceil((steps * 10) / MEMORY_SAMPLE_MS), `${reads} reads in ${steps} steps`);
    assert.equal(seen, 1000);
    await runner.idle();
    assert.equal(runner.stats().memoryBytes, 0, 'idle: read when asked');
  });

  it('counts prompt tokens reused from the prefix store', async () => {
    const { runner } = setup({}, { cached: (r) => r.promptTokens.length - 2 });
    const r = await runner.submit({ promptTokens: prompt(10), maxTokens: 2 }).collect();
    assert.deepEqual(r.usage, { promptTokens: 10, completionTokens: 2, cachedTokens: 8, acceptedDraftTokens: 0, rejectedDraftTokens: 0 });
    assert.equal(runner.metrics().promptTokensCached, 8);
  });

  it('drain refuses new requests and resolves when the running ones finish', async () => {
    const { runner } = setup();
    const a = runner.submit({ promptTokens: [1], maxTokens: 5 });
    const drained = runner.drain();
    assert.throws(() => runner.submit({ promptTokens: [1], maxTokens: 1 }), (e: unknown) => e instanceof MlxBatchError && e.type === 'unavailable');
    assert.equal((await a.collect()).tokens.length, 5);
    await drained;
  });

  it('answers 64 requests with max batch 8 in priority order, none lost or duplicated', async () => {
    const { engine, runner } = setup({ maxBatch: 8 });
    const prios = ['background', 'normal', 'interactive'] as const;
    const streams = Array.from({ length: 64 }, (_, i) => runner.submit({ promptTokens: [i * 10], maxTokens: 3, priority: prios[i % 3] }));
    const results = await Promise.all(streams.map((s) => s.collect()));
    results.forEach((r, i) => assert.deepEqual(r.tokens, [i * 10 + 1, i * 10 + 2, i * 10 + 3]));
    assert.equal(new Set(engine.added).size, 64);
    // All 64 are queued before the first step: admission is by class, then arrival.
    const classOf = (id: string): number => streams.findIndex((s) => s.id === id) % 3; // 2 = interactive
    const order = engine.added.map(classOf);
    assert.deepEqual(order, [...order].sort((x, y) => y - x));
    assert.deepEqual(engine.added.filter((id) => classOf(id) === 2), streams.filter((_, i) => i % 3 === 2).map((s) => s.id));
  });
});
