import assert from 'node:assert/strict';
import { runBenchmark, type BenchmarkProgress, type BenchmarkResult } from '../../../src/batching/benchmark/driver';
import { BENCHMARK_PROMPTS, benchmarkPrompts } from '../../../src/batching/benchmark/prompts';
import { partsOf, runComparisonBenchmark, speedupOf } from '../../../src/batching/benchmark/report';
import { runnerTarget } from '../../../src/batching/benchmark/runner-target';
import { formatProgress, formatReport } from '../../../src/batching/benchmark/terminal';
import { Runner } from '../../../src/batching/runner';
import { FakeEngine } from './helpers/fake-engine';
import { FakeClock } from './helpers/scheduling';

const STEP_MS = 10;
const MACHINE = { platform: 'linux', arch: 'x64', cpus: 2, cpuModel: 'test cpu', memoryGb: 4, backend: 'cpu' };
const encoder = { encode: (text: string): number[] => [...text.slice(0, 40)].map((c) => c.charCodeAt(0)) };

/**
 * A runner on a fake engine whose every step takes STEP_MS of fake time, whatever its batch.
 * Speculation is off: the engine's constant token would be drafted, and these tests count steps.
 */
function target(maxBatch = 16): { clock: FakeClock; engine: FakeEngine; runner: Runner } {
  const clock = new FakeClock();
  const engine = new FakeEngine({ onStep: () => clock.advance(STEP_MS), next: () => 7 });
  return { clock, engine, runner: new Runner(engine, { now: clock.now, maxBatch, speculative: false }) };
}

describe('benchmark', () => {
  it('has 15 distinct code prompts: 5 short, 5 medium, 5 long', () => {
    const all = [...BENCHMARK_PROMPTS.short, ...BENCHMARK_PROMPTS.medium, ...BENCHMARK_PROMPTS.long];
    assert.equal(all.length, 15);
    assert.equal(new Set(all).size, 15);
    for (const set of ['short', 'medium', 'long'] as const) assert.equal(BENCHMARK_PROMPTS[set].length, 5);
    const maxShort = Math.max(...BENCHMARK_PROMPTS.short.map((p) => p.length));
    const minMedium = Math.min(...BENCHMARK_PROMPTS.medium.map((p) => p.length));
    const maxMedium = Math.max(...BENCHMARK_PROMPTS.medium.map((p) => p.length));
    const minLong = Math.min(...BENCHMARK_PROMPTS.long.map((p) => p.length));
    assert.ok(maxShort < minMedium && maxMedium < minLong);
    assert.deepEqual(benchmarkPrompts(['short', 'long']).slice(0, 3), [BENCHMARK_PROMPTS.short[0], BENCHMARK_PROMPTS.long[0], BENCHMARK_PROMPTS.short[1]]);
  });

  it('runs one mode and counts requests, tokens and latencies', async () => {
    const { engine, runner } = target();
    const progress: BenchmarkProgress[] = [];
    const r = await runBenchmark(runnerTarget(runner, encoder), {
      mode: 'sequential', concurrency: 3, maxTokens: 5, prompts: benchmarkPrompts(), onProgress: (p) => progress.push(p), now: runner.scheduler.options.now,
    });
    assert.equal(r.requests, 3);
    assert.equal(r.totalTokens, 15);
    // Each request: a prefill step (first token) then 4 decode steps, one request at a time.
    assert.equal(r.wallMs, 3 * 5 * STEP_MS);
    assert.equal(r.tokensPerSecond, 15 / (150 / 1000));
    assert.equal(r.latencyMs.p50, 50);
    assert.equal(r.ttftMs.avg, 10);
    assert.equal(r.interTokenMs.avg, 10);
    assert.equal(r.peakMemoryMb, 1000 / 2 ** 20);
    // Engine time by kind of step: 3 prompt steps, 12 decode-only steps.
    assert.deepEqual(r.stepMs, { promptMs: 3 * STEP_MS, decodeMs: 12 * STEP_MS });
    assert.deepEqual(progress.map((p) => p.done), [0, 1, 2, 3]);
    assert.ok(engine.plans.every((p) => p.decode.length + p.prefill.length === 1));
    assert.equal(engine.plans.filter((p) => p.decode.length === 0).length, 3, 'one prefill step per request');
  });

  it('compares sequential with batched and computes the speed-up', async () => {
    const { engine, runner } = target();
    const report = await runComparisonBenchmark(runnerTarget(runner, encoder), {
      model: 'fake', machine: MACHINE, concurrencies: [1, 4], maxTokens: 6, prompts: benchmarkPrompts(), now: runner.scheduler.options.now,
    });
    assert.deepEqual(report.results.map((r) => [r.mode, r.concurrency, r.requests, r.totalTokens]),
      [['sequential', 1, 1, 6], ['batched', 1, 1, 6], ['sequential', 4, 4, 24], ['batched', 4, 4, 24]]);
    const [, , seq4, bat4] = report.results;
    assert.equal(seq4.wallMs, 4 * 6 * STEP_MS);
    assert.equal(bat4.wallMs, 6 * STEP_MS);
    assert.equal(report.speedup['4'], 4);
    assert.equal(report.speedup['1'], 1);
    assert.ok(engine.plans.some((p) => p.decode.length === 4));
    const json = JSON.parse(JSON.stringify(report)) as typeof report;
    assert.equal(json.results[3].mode, 'batched');
    for (const k of ['avg', 'p50', 'p90', 'p99']) assert.equal(typeof (json.results[3].latencyMs as Record<string, number>)[k], 'number');
    assert.deepEqual(json.machine, MACHINE);
    assert.match(formatReport(report), /x4: 4\.00x/);
    // Sequential x4: 4 prompt steps and 20 decode steps; batched x4: the 4 prompts in one step, then 5 decode steps.
    assert.deepEqual([seq4.stepMs, bat4.stepMs], [{ promptMs: 40, decodeMs: 200 }, { promptMs: 10, decodeMs: 50 }]);
    assert.deepEqual(report.parts?.['4'], { prompt: 4, decode: 4, sequentialPromptShare: 40 / 240 });
    assert.match(formatReport(report), /x4: prompt 4\.00x, decode 4\.00x \(prompts 17% of sequential\)/);
  });

  it('speed-up is batched tok/s over sequential tok/s', () => {
    const row = (tokensPerSecond: number): BenchmarkResult => ({
      mode: 'batched', concurrency: 8, requests: 8, totalTokens: 0, wallMs: 0, tokensPerSecond,
      latencyMs: { avg: 0, p50: 0, p90: 0, p99: 0 }, ttftMs: { avg: 0, p50: 0, p99: 0 }, interTokenMs: { avg: 0, p50: 0, p99: 0 }, peakMemoryMb: 0,
    });
    assert.equal(speedupOf(row(40), row(170)), 4.25);
    assert.equal(speedupOf(row(0), row(170)), 0);
  });

  it('splits the engine time: each part\'s speed-up, and none without step times', () => {
    const row = (promptMs: number, decodeMs: number): BenchmarkResult => ({
      mode: 'batched', concurrency: 8, requests: 8, totalTokens: 0, wallMs: 0, tokensPerSecond: 0,
      latencyMs: { avg: 0, p50: 0, p90: 0, p99: 0 }, ttftMs: { avg: 0, p50: 0, p99: 0 }, interTokenMs: { avg: 0, p50: 0, p99: 0 }, peakMemoryMb: 0,
      stepMs: { promptMs, decodeMs },
    });
    assert.deepEqual(partsOf(row(30_000, 70_000), row(25_000, 17_500)), { prompt: 1.2, decode: 4, sequentialPromptShare: 0.3 });
    assert.equal(partsOf({ ...row(1, 1), stepMs: undefined }, row(1, 1)), undefined);
  });

  it('formats a progress line', () => {
    const line = formatProgress({ mode: 'batched', concurrency: 8, done: 4, total: 8, tokens: 512, elapsedMs: 2000 }, 10);
    assert.match(line, /\[#####-----\]/);
    assert.match(line, /4\/8/);
    assert.match(line, /256\.0 tok\/s/);
  });
});
