import assert from 'node:assert/strict';
import { MlxBatchError } from '../../../src/shared/errors';
import { RequestStatus } from '../../../src/batching/request-types';
import type { StepPlan } from '../../../src/batching/engine';
import type { SchedulerOptions } from '../../../src/batching/scheduler';
import { FakeDecoder, finishOf, harness, prompt, textOf, tokensOf, type Harness } from './helpers/scheduling';
import { fakeLogprob } from './helpers/fake-engine';

/** A step's time on the timed harness's machine: 20 ms for decode rows, then `perToken` ms for each prompt token. */
function stepMs(plan: StepPlan, perToken = 2): number {
  return (plan.decode.length > 0 ? 20 : 0) + perToken * chunkOf(plan);
}

function chunkOf(plan: StepPlan): number {
  return plan.prefill.reduce((a, c) => a + c.end - c.start, 0);
}

/** A harness whose clock moves by each step's stepMs while the engine runs it. */
function timedHarness(options: Partial<SchedulerOptions>, perToken: () => number = () => 2): Harness {
  const h: Harness = harness(options, { onStep: (plan) => h.clock.advance(stepMs(plan, perToken())) });
  return h;
}

describe('Scheduler', () => {
  it('puts every running decode row in one decode list, each step', () => {
    const h = harness({ maxBatch: 4 });
    for (const id of ['a', 'b', 'c']) h.add(id, { promptTokens: prompt(3), maxTokens: 5 });
    h.step();
    assert.deepEqual(h.engine.plans[0], { decode: [], prefill: [{ id: 'a', start: 0, end: 3 }, { id: 'b', start: 0, end: 3 }, { id: 'c', start: 0, end: 3 }] });
    h.step();
    assert.deepEqual(h.engine.plans[1], { decode: ['a', 'b', 'c'], prefill: [] });
    h.runAll();
    for (const id of ['a', 'b', 'c']) {
      assert.deepEqual(tokensOf(h, id), [4, 5, 6, 7, 8]);
      assert.equal(finishOf(h, id), 'length');
    }
  });

  it('admits a new request at a step boundary while others decode', () => {
    const h = harness();
    h.add('a', { maxTokens: 10 });
    h.step();
    h.step();
    h.add('b', { maxTokens: 3 });
    h.step();
    assert.deepEqual(h.engine.plans[2], { decode: ['a'], prefill: [{ id: 'b', start: 0, end: 4 }] });
    h.step();
    assert.deepEqual(h.engine.plans[3].decode, ['a', 'b']);
  });

  it('releases a finished request at once and reuses its row', () => {
    const h = harness({ maxBatch: 2 });
    h.add('a', { maxTokens: 2 });
    h.add('b', { maxTokens: 6 });
    h.add('c', { maxTokens: 2 });
    h.step(); // a, b prefill -> first tokens
    h.step(); // a finishes here (2 tokens)
    assert.deepEqual(h.engine.released, ['a']);
    assert.equal(h.scheduler.numRunning, 1);
    h.step();
    assert.deepEqual(h.engine.plans[2], { decode: ['b'], prefill: [{ id: 'c', start: 0, end: 4 }] });
    h.runAll();
    assert.deepEqual(h.engine.released.sort(), ['a', 'b', 'c']);
    assert.equal(h.engine.rows.size, 0);
  });

  it('never runs more than max batch rows', () => {
    const h = harness({ maxBatch: 3 });
    for (let i = 0; i < 10; i++) h.add(`r${i}`, { maxTokens: 1 + (i % 4) });
    h.runAll();
    for (const p of h.engine.plans) assert.ok(new Set([...p.decode, ...p.prefill.map((c) => c.id)]).size <= 3);
    assert.ok(h.engine.plans.some((p) => p.decode.length + p.prefill.length === 3));
    for (let i = 0; i < 10; i++) assert.equal(finishOf(h, `r${i}`), 'length');
  });

  it('respects the KV budget by reserving prompt + max_tokens', () => {
    // each reserves 4 + 6 = 10 tokens; a budget of 25 fits two.
    const h = harness({ kvBudgetTokens: 25 });
    for (const id of ['a', 'b', 'c']) h.add(id, { maxTokens: 6 });
    h.step();
    assert.deepEqual(h.engine.plans[0].prefill.map((c) => c.id), ['a', 'b']);
    assert.equal(h.scheduler.reservedTokens, 20);
    h.runAll();
    assert.equal(finishOf(h, 'c'), 'length');
    assert.equal(h.scheduler.reservedTokens, 0);
  });

  it('runs a request larger than the whole KV budget alone rather than never', () => {
    const h = harness({ kvBudgetTokens: 8 });
    h.add('big', { maxTokens: 20 });
    h.add('small', { maxTokens: 1 });
    h.step();
    assert.deepEqual(h.engine.plans[0].prefill.map((c) => c.id), ['big']);
    h.runAll();
    assert.equal(tokensOf(h, 'big').length, 20);
    assert.equal(finishOf(h, 'small'), 'length');
  });

  it('chunks a long prompt and keeps decode rows getting a token every step', () => {
    const h = harness({ prefillChunkTokens: 16, maxStepTokens: 20 });
    h.add('a', { maxTokens: 30 });
    h.add('b', { maxTokens: 30 });
    h.step();
    h.add('long', { promptTokens: prompt(100), maxTokens: 2 });
    let steps = 0;
    while (h.scheduler.get('long')?.isPrefilling !== false && steps < 50) {
      const before = tokensOf(h, 'a').length;
      h.step();
      steps++;
      assert.equal(tokensOf(h, 'a').length, before + 1, 'a decode row starved during prefill');
    }
    // 100 tokens at 16 per step, budget 20 - 2 decode rows = 18 -> chunks of 16.
    const chunks = h.engine.plans.flatMap((p) => p.prefill.filter((c) => c.id === 'long'));
    assert.ok(chunks.length >= 7);
    for (const c of chunks) assert.ok(c.end - c.start <= 16);
    assert.equal(chunks.at(-1)!.end, 100);
    for (const p of h.engine.plans) assert.ok(p.decode.length + p.prefill.reduce((a, c) => a + c.end - c.start, 0) <= 20);
  });

  it('gives normal prompts beside decode rows the tokens that keep a step within decodeGapFactor of a decode-only step, learned from its timed steps', () => {
    const h = timedHarness({ prefillChunkTokens: 64, maxStepTokens: 128, decodeGapFactor: 1.5 });
    h.add('first', { promptTokens: prompt(100), maxTokens: 40 });
    h.step();
    // Alone, the prompt gets a full chunk.
    assert.deepEqual(h.engine.plans[0].prefill.map((c) => c.end - c.start), [64]);
    h.step();
    h.step();
    h.add('second', { promptTokens: prompt(40), maxTokens: 2 });
    while (h.scheduler.get('second')?.isPrefilling !== false) h.step();
    const besides = h.engine.plans.filter((p) => p.decode.length > 0 && p.prefill.length > 0);
    // A decode-only step costs 20 ms here and each prompt token 2 ms: one token first (that step
    // starts the request, which prices nothing), one more (its cost unknown), then
    // floor((1.5 - 1) * 20 / 2) = 5 a step.
    assert.deepEqual(besides.map((p) => p.prefill.reduce((a, c) => a + c.end - c.start, 0)), [1, 1, 5, 5, 5, 5, 5, 5, 5, 3]);
    for (const p of besides) assert.ok(stepMs(p) <= 1.5 * stepMs({ decode: p.decode, prefill: [] }), JSON.stringify(p));
    // An interactive prompt (an inline completion) is not held to it: it takes the step budget.
    h.add('completion', { priority: 'interactive', promptTokens: prompt(100), maxTokens: 2 });
    h.step();
    // (64: the chunk limit, below the step budget.)
    assert.deepEqual(h.engine.plans.at(-1)!.prefill.map((c) => [c.id, c.end - c.start]), [['completion', 64]]);
    assert.ok(h.engine.plans.at(-1)!.decode.length > 0);
    for (const bad of [-1, 1, 0.5]) assert.throws(() => harness({ decodeGapFactor: bad }), MlxBatchError);
  });

  it('holds no prompt back beside decode rows that are all background work (nobody watches their gaps)', () => {
    const h = timedHarness({ prefillChunkTokens: 64, maxStepTokens: 128, decodeGapFactor: 1.5 });
    h.add('job', { priority: 'background', maxTokens: 40 });
    h.step();
    h.step();
    h.add('chat', { priority: 'normal', promptTokens: prompt(100), maxTokens: 20 });
    h.step();
    assert.deepEqual(h.engine.plans.at(-1), { decode: ['job'], prefill: [{ id: 'chat', start: 0, end: 64 }] });
    // Once the chat decodes beside it, a second prompt is held to the factor again.
    h.step();
    h.add('second', { priority: 'background', promptTokens: prompt(100), maxTokens: 2 });
    for (let i = 0; i < 4; i++) h.step();
    assert.ok(h.engine.plans.slice(-3).every((p) => p.decode.includes('chat') && chunkOf(p) <= 5), JSON.stringify(h.engine.plans.slice(-3)));
  });

  it('holds no prompt back while more requests wait for a first token than watched streams run', () => {
    const h = timedHarness({ maxBatch: 8, prefillChunkTokens: 64, maxStepTokens: 100, decodeGapFactor: 1.5 });
    for (const id of ['s1', 's2']) h.add(id, { maxTokens: 100 });
    for (let i = 0; i < 6; i++) h.step();
    for (let i = 0; i < 3; i++) h.add(`p${i}`, { promptTokens: prompt(200), maxTokens: 100 });
    h.runAll();
    const plans = JSON.stringify(h.engine.plans.slice(6, 24));
    // Two streams and three requests in their prompts: the prompts take the step budget beside them.
    assert.ok(h.engine.plans.some((p) => p.decode.length === 2 && chunkOf(p) === 98), plans);
    // Two streams and two prompts (the first prompt's own stream does not count: it arrived with
    // them): held to the factor.
    const held = h.engine.plans.filter((p) => p.decode.length >= 3 && p.prefill.length > 0);
    assert.ok(held.length > 0 && held.every((p) => chunkOf(p) <= 5), plans);
  });

  it('holds no prompt back for streams that arrived with it (a wave)', () => {
    const h = timedHarness({ maxBatch: 8, prefillChunkTokens: 64, maxStepTokens: 100, decodeGapFactor: 1.5 });
    for (let i = 0; i < 4; i++) h.add(`r${i}`, { promptTokens: prompt(200), maxTokens: 100 });
    h.runAll();
    const beside = h.engine.plans.filter((p) => p.decode.length > 0 && p.prefill.length > 0);
    assert.ok(beside.length > 0, 'no prompt ran beside a stream');
    // Each such step spends the whole step budget on prompts, or gives each prompt a full chunk
    // (prefillChunkTokens, or the rest of its prompt): held, a chunk would be a few tokens.
    for (const p of beside) {
      assert.ok(chunkOf(p) + p.decode.length === 100 || p.prefill.every((c) => c.end - c.start === 64 || c.end === 200), JSON.stringify(p));
    }
  });

  it('takes no prompt tokens beside decode rows before it has timed a decode-only step, then follows the costs it measures', () => {
    let perToken = 2;
    const h = timedHarness({ prefillChunkTokens: 64, maxStepTokens: 128, decodeGapFactor: 2 }, () => perToken);
    h.add('chat', { maxTokens: 200 });
    h.step(); // the chat's prompt
    h.add('long', { priority: 'normal', promptTokens: prompt(400), maxTokens: 1 });
    h.step(); // the chat decodes; no decode-only step timed yet
    assert.deepEqual(h.engine.plans[1], { decode: ['chat'], prefill: [] });
    for (let i = 0; i < 6; i++) h.step();
    assert.equal(chunkOf(h.engine.plans.at(-1)!), 10, 'floor((2 - 1) * 20 / 2)');
    // The machine gets slower at prompt tokens: the chunks follow within a few steps.
    perToken = 5;
    for (let i = 0; i < 12; i++) h.step();
    assert.equal(chunkOf(h.engine.plans.at(-1)!), 4, 'floor((2 - 1) * 20 / 5)');
  });

  it('starts prefill at the cached prefix the engine reports', () => {
    const h = harness({}, { cached: (r) => (r.id === 'warm' ? 6 : 0) });
    h.add('warm', { promptTokens: prompt(10), maxTokens: 1 });
    h.step();
    assert.deepEqual(h.engine.plans[0].prefill, [{ id: 'warm', start: 6, end: 10 }]);
    assert.equal(h.scheduler.get('warm'), undefined);
    assert.equal(h.updates.get('warm')!.at(-1)!.request.usage.cachedTokens, 6);
  });

  it('admits by priority class, then arrival', () => {
    const h = harness({ maxBatch: 1 });
    h.add('bg', { priority: 'background', maxTokens: 1 });
    h.clock.advance(1);
    h.add('n', { priority: 'normal', maxTokens: 1 });
    h.clock.advance(1);
    h.add('i1', { priority: 'interactive', maxTokens: 1 });
    h.clock.advance(1);
    h.add('i2', { priority: 'interactive', maxTokens: 1 });
    h.runAll();
    assert.deepEqual(h.engine.added, ['i1', 'i2', 'n', 'bg']);
  });

  it('runs an interactive prompt beside the decode rows, never in a step that holds them back', () => {
    const h = harness({ prefillChunkTokens: 8 });
    h.add('a', { maxTokens: 20 });
    h.add('b', { maxTokens: 20 });
    h.step();
    h.step();
    h.add('n', { priority: 'normal', maxTokens: 2 });
    h.add('i', { priority: 'interactive', promptTokens: prompt(12), maxTokens: 2 });
    h.step();
    assert.deepEqual(h.engine.plans[2], { decode: ['a', 'b'], prefill: [{ id: 'i', start: 0, end: 8 }, { id: 'n', start: 0, end: 4 }] });
    h.step();
    assert.deepEqual(h.engine.plans[3], { decode: ['a', 'b', 'n'], prefill: [{ id: 'i', start: 8, end: 12 }] });
    h.runAll();
    // a decodes from its first token to its 20th: no step in between leaves it out.
    h.engine.plans.slice(1, 20).forEach((p, i) => assert.ok(p.decode.includes('a'), `step ${i + 1} held the decode rows back`));
    for (const id of ['a', 'b', 'i', 'n']) assert.equal(finishOf(h, id), 'length');
  });

  it('does not price prompt tokens from the steps that start a request (its join is paid once, not per token)', () => {
    // Each request's first chunk costs 60 ms more (the engine copies its prefix and the batch);
    // the tokens after it 2 ms each, a decode-only step 20 ms.
    const h: Harness = harness({ maxBatch: 4, prefillChunkTokens: 64, maxStepTokens: 128, decodeGapFactor: 1.5 }, {
      onStep: (plan) => h.clock.advance(stepMs(plan) + (plan.prefill.some((c) => c.start === 0) ? 60 : 0)),
    });
    h.add('chat', { promptTokens: prompt(10), maxTokens: 200 });
    for (let i = 0; i < 4; i++) h.step();
    for (const id of ['q1', 'q2', 'q3']) {
      h.add(id, { promptTokens: prompt(30), maxTokens: 1 });
      for (let i = 0; i < 40 && tokensOf(h, id).length === 0; i++) h.step();
      h.step();
    }
    const tokensBeside = (id: string) => h.engine.plans.filter((p) => p.decode.length > 0).flatMap((p) => p.prefill.filter((c) => c.id === id).map((c) => c.end - c.start));
    // q1 learns the price (a token a step while it is unknown); q2 and q3 run 5 tokens a step,
    // floor((1.5 - 1) * 20 / 2), whatever their first steps cost.
    assert.deepEqual(tokensBeside('q2'), [5, 5, 5, 5, 5, 5]);
    assert.deepEqual(tokensBeside('q3'), [5, 5, 5, 5, 5, 5]);
  });

  it('keeps an aged normal prompt to decodeGapFactor (aging orders admission only)', () => {
    const h = timedHarness({ agingMs: 100, prefillChunkTokens: 64, maxStepTokens: 128, decodeGapFactor: 1.5 });
    h.add('chat', { maxTokens: 100 });
    h.step();
    h.step();
    h.add('long', { priority: 'normal', promptTokens: prompt(200), maxTokens: 1 });
    for (let i = 0; i < 10; i++) {
      h.clock.advance(100);
      h.step();
    }
    assert.ok(h.scheduler.effectiveClass(h.scheduler.get('long')!) === 0, 'aged to the interactive class');
    for (const p of h.engine.plans.slice(2)) assert.ok(chunkOf(p) <= 5, JSON.stringify(p));
  });

  it('computes an interactive prompt of a whole step budget in one step beside decode rows', () => {
    const h = harness({ maxBatch: 8 });
    for (const id of ['c1', 'c2', 'c3', 'c4']) h.add(id, { promptTokens: prompt(8), maxTokens: 50 });
    h.step();
    h.add('completion', { priority: 'interactive', promptTokens: prompt(256), maxTokens: 4 });
    h.step();
    assert.deepEqual(h.engine.plans[1], { decode: ['c1', 'c2', 'c3', 'c4'], prefill: [{ id: 'completion', start: 0, end: 256 }] });
    assert.equal(tokensOf(h, 'completion').length, 1, 'its first token comes in the step that took its prompt');
  });

  it('finishes the prompts of requests that arrive together one after another, in rank order', () => {
    const h = harness({ maxBatch: 8 });
    h.add('n1', { priority: 'normal', promptTokens: prompt(400), maxTokens: 4 });
    h.add('n2', { priority: 'normal', promptTokens: prompt(400), maxTokens: 4 });
    h.add('i', { priority: 'interactive', promptTokens: prompt(300), maxTokens: 4 });
    const firstToken = new Map<string, number>();
    for (let step = 0; firstToken.size < 3 && step < 100; step++) {
      h.step();
      for (const id of ['n1', 'n2', 'i']) if (!firstToken.has(id) && tokensOf(h, id).length > 0) firstToken.set(id, step);
    }
    // The step's prompt budget (default options) goes to one prompt at a time: i first, then n1,
    // then n2, each finishing before the next has computed its last chunk.
    assert.deepEqual([...firstToken.keys()], ['i', 'n1', 'n2']);
    assert.ok(firstToken.get('i')! < firstToken.get('n1')! && firstToken.get('n1')! < firstToken.get('n2')!);
    assert.equal(firstToken.get('i'), 1, 'the interactive prompt (300 tokens) is done in two steps');
    // A later prompt only gets the tokens an earlier one did not need.
    const length: Record<string, number> = { n1: 400, n2: 400, i: 300 };
    for (const p of h.engine.plans) assert.ok(p.prefill.slice(0, -1).every((c) => c.end === length[c.id]), JSON.stringify(p));
    h.runAll();
  });

  it('ages waiting requests so a background request is not starved by interactive ones', () => {
    const agingMs = 100;
    const h = harness({ maxBatch: 1, agingMs });
    h.add('bg', { priority: 'background', maxTokens: 1 });
    // An endless stream of interactive requests, one new each step, each 10 ms apart.
    let n = 0;
    for (let step = 0; step < 60 && !h.engine.added.includes('bg'); step++) {
      h.add(`i${n++}`, { priority: 'interactive', maxTokens: 1 });
      h.clock.advance(10);
      h.step();
    }
    assert.ok(h.engine.added.includes('bg'), 'background request starved');
    const bgAt = h.engine.added.indexOf('bg');
    // Background climbs one class per 100 ms: it ties interactive at 200 ms and wins on arrival.
    const admittedAtMs = (bgAt + 1) * 10; // step k runs at 10 (k + 1) ms and admits one request
    assert.ok(admittedAtMs >= 2 * agingMs && admittedAtMs <= 2 * agingMs + 30, `admitted at ${admittedAtMs} ms`);
    assert.equal(h.scheduler.effectiveClass(h.updates.get('bg')![0].request, 2 * agingMs), 0);
    assert.equal(h.scheduler.effectiveClass(h.updates.get('bg')![0].request, agingMs), 1);
  });

  it('aborts a waiting request without touching the engine', () => {
    const h = harness({ maxBatch: 1 });
    h.add('a', { maxTokens: 3 });
    h.add('b', { maxTokens: 3 });
    h.step();
    const u = h.scheduler.abort('b');
    assert.equal(u?.finishReason, 'abort');
    assert.equal(u?.request.status, RequestStatus.FinishedAborted);
    h.runAll();
    assert.ok(!h.engine.added.includes('b'));
    assert.ok(!h.engine.released.includes('b'));
    assert.equal(h.scheduler.abort('b'), undefined);
  });

  it('aborts a running request: it leaves the plan and its row is released at the next step', () => {
    const h = harness();
    h.add('a', { maxTokens: 10 });
    h.add('b', { maxTokens: 10 });
    h.step();
    h.step();
    assert.equal(h.scheduler.abort('a')?.finishReason, 'abort');
    assert.ok(!h.engine.released.includes('a'));
    h.step();
    assert.deepEqual(h.engine.released, ['a']);
    assert.deepEqual(h.engine.plans[2].decode, ['b']);
    assert.equal(tokensOf(h, 'a').length, 2);
  });

  it('ignores the token of a request aborted while its step was in flight', () => {
    const h = harness();
    h.add('a', { maxTokens: 10 });
    h.step();
    const plan = h.scheduler.schedule();
    const out = h.engine.stepSync(plan);
    h.scheduler.abort('a');
    assert.deepEqual(h.scheduler.update(out), []);
    assert.equal(h.scheduler.hasWork(), true);
    assert.deepEqual(h.scheduler.schedule(), { decode: [], prefill: [] });
    assert.deepEqual(h.engine.released, ['a']);
    assert.equal(h.scheduler.hasWork(), false);
  });

  it('runs one request at a time when batching is off, and switches live', () => {
    const h = harness({ batching: false, maxBatch: 4 });
    for (const id of ['a', 'b', 'c']) h.add(id, { maxTokens: 3 });
    for (let i = 0; i < 4; i++) h.step();
    for (const p of h.engine.plans) assert.ok(p.decode.length + p.prefill.length <= 1);
    assert.equal(h.scheduler.maxBatch, 1);
    h.scheduler.setBatching(true);
    h.step();
    assert.equal(h.scheduler.maxBatch, 4);
    assert.equal(h.scheduler.numRunning, 2);
    h.runAll();
    for (const id of ['a', 'b', 'c']) assert.deepEqual(tokensOf(h, id), [5, 6, 7]);
  });

  it('refuses new requests past the waiting-queue limit with overloaded', () => {
    const h = harness({ maxWaiting: 2 });
    h.add('a');
    h.add('b');
    assert.throws(() => h.add('c'), (e: unknown) => e instanceof MlxBatchError && e.type === 'overloaded' && e.status === 429);
    h.step();
    h.add('c');
  });

  it('fails only the requests of a step the engine could not run', () => {
    const h = harness({ maxBatch: 2 }, { failWhen: (_p, i) => i === 1 });
    h.add('a', { maxTokens: 5 });
    h.add('b', { maxTokens: 5 });
    h.add('c', { maxTokens: 2 });
    h.runAll();
    assert.equal(finishOf(h, 'a'), 'error');
    assert.equal(finishOf(h, 'b'), 'error');
    assert.ok(h.updates.get('a')!.at(-1)!.error instanceof MlxBatchError);
    assert.equal(finishOf(h, 'c'), 'length');
    assert.deepEqual(h.engine.released.sort(), ['a', 'b', 'c']);
  });

  it('fails a request the engine refuses to add, and carries on', () => {
    const h = harness({}, { failAdd: (r) => r.id === 'bad' });
    h.add('bad');
    h.add('good', { maxTokens: 2 });
    h.runAll();
    assert.equal(finishOf(h, 'bad'), 'error');
    assert.equal(finishOf(h, 'good'), 'length');
  });

  it('stops at a stop string spanning tokens, never leaking it', () => {
    const pieces = { 5: 'foo', 6: ' EN', 7: 'D bar' };
    const h = harness();
    h.add('s', { promptTokens: [4], maxTokens: 10, stop: ['END'], decoder: new FakeDecoder(pieces) });
    h.runAll();
    assert.equal(finishOf(h, 's'), 'stop');
    assert.equal(textOf(h, 's'), 'foo ');
    assert.deepEqual(h.updates.get('s')!.map((u) => u.text), ['foo', ' ', '']);
    assert.deepEqual(tokensOf(h, 's'), [5, 6, 7]);
  });

  it('finishes with length at the context length', () => {
    const h = harness({}, { contextLength: 12 });
    h.add('a', { promptTokens: prompt(8), maxTokens: 100 });
    h.runAll();
    assert.equal(finishOf(h, 'a'), 'length');
    assert.equal(tokensOf(h, 'a').length, 4);
  });

  it('computes the prompt of a request with max_tokens 0 and ends it without a token', () => {
    const h = harness();
    h.add('w', { promptTokens: prompt(40), maxTokens: 0 });
    h.add('a', { promptTokens: prompt(3), maxTokens: 2 });
    h.runAll();
    assert.deepEqual(tokensOf(h, 'w'), []);
    assert.equal(finishOf(h, 'w'), 'length');
    assert.equal(h.engine.plans.flatMap((p) => p.prefill).filter((c) => c.id === 'w').at(-1)!.end, 40, 'the whole prompt was computed');
    assert.ok(!h.engine.plans.some((p) => p.decode.includes('w')), 'it never decodes');
    assert.ok(h.engine.released.includes('w'));
    assert.deepEqual(tokensOf(h, 'a'), [4, 5]);
  });

  it('finishes on EOS', () => {
    const h = harness();
    h.add('a', { promptTokens: [1], maxTokens: 100, eosTokenIds: [4] });
    h.runAll();
    assert.equal(finishOf(h, 'a'), 'stop');
    assert.deepEqual(tokensOf(h, 'a'), [2, 3, 4]);
  });

  it('rejects options that could stall prefill', () => {
    assert.throws(() => harness({ maxBatch: 8, maxStepTokens: 8 }), MlxBatchError);
    const h = harness();
    assert.throws(() => h.scheduler.configure({ maxBatch: 0 }), MlxBatchError);
    h.scheduler.configure({ maxBatch: 2 });
    assert.equal(h.scheduler.maxBatch, 2);
  });
});

describe('Scheduler: speculative decoding (prompt-lookup drafts)', () => {
  // The fake engine's next token is last + 1, so a prompt that already holds a run of rising
  // numbers lets the row draft the rest of it, and the engine accepts what it would have sampled.
  const copying = () => [...prompt(20), 1, 2, 3];
  const draftsOf = (h: ReturnType<typeof harness>, id: string) => h.engine.plans.map((p) => p.drafts?.get(id) ?? []);
  /**
   * A harness whose scheduler has measured what steps and drafts cost (a fresh one first times
   * decode-only steps and one- and two-token drafts), as a server's has after its first request.
   */
  const warm = (...args: Parameters<typeof harness>): Harness => {
    const h = harness(...args);
    h.add('warm-up', { promptTokens: copying(), maxTokens: 30 });
    h.runAll();
    h.engine.plans.length = 0;
    h.engine.released.length = 0;
    h.updates.clear();
    return h;
  };

  it('drafts what followed the row\'s last tokens earlier, emits the accepted tokens in order, in fewer steps', () => {
    const h = warm();
    h.add('a', { promptTokens: copying(), maxTokens: 14 });
    h.runAll();
    assert.deepEqual(tokensOf(h, 'a'), prompt(14, 4));
    assert.equal(finishOf(h, 'a'), 'length');
    assert.deepEqual(draftsOf(h, 'a')[1], [5, 6, 7, 8], 'the first draft copies what followed 3, 4 in the prompt');
    assert.ok(h.engine.plans.length <= 5, `${h.engine.plans.length} steps for 14 tokens`);
    const usage = h.updates.get('a')!.at(-1)!.request.usage;
    assert.equal(usage.completionTokens, 14);
    assert.equal(usage.rejectedDraftTokens, 0);
    assert.equal(usage.acceptedDraftTokens, 14 - (h.engine.plans.length), 'every step but the drafts gave one token of its own');
  });

  it('copies a prediction from where the output has got to in it, not from a later repeat of the same tokens', () => {
    const h = warm();
    // The output counts up 3, 4, 5...; "3 4" comes again late in the prediction, followed by 90.
    h.add('a', { promptTokens: [1, 2], maxTokens: 8, prediction: [3, 4, 5, 6, 7, 8, 9, 10, 3, 4, 90, 91, 92] });
    h.runAll();
    assert.deepEqual(tokensOf(h, 'a'), prompt(8, 3));
    assert.deepEqual(draftsOf(h, 'a')[2], [5, 6, 7, 8], 'the draft after 3, 4 follows the prediction where the output is');
  });

  it('reports logprobs of the tokens emitted, none past or for an EOS inside an accepted draft', () => {
    const h = warm();
    h.add('a', { promptTokens: copying(), maxTokens: 20, eosTokenIds: [7], sampling: { temperature: 0, topP: 1, topK: 0, logprobs: 1 } });
    h.runAll();
    assert.deepEqual(tokensOf(h, 'a'), [4, 5, 6, 7]);
    assert.deepEqual(draftsOf(h, 'a')[1], [5, 6, 7, 8], 'EOS falls inside the accepted draft');
    const logprobs = h.updates.get('a')!.flatMap((u) => u.logprobs ?? []);
    assert.deepEqual(logprobs, [4, 5, 6].map((t) => fakeLogprob(t, 1)));
  });

  it('never drafts past max_tokens or the context', () => {
    const h = warm({}, { contextLength: 40 });
    h.add('a', { promptTokens: copying(), maxTokens: 9 });
    h.add('b', { promptTokens: copying(), maxTokens: 100 });
    h.runAll();
    assert.deepEqual(tokensOf(h, 'a'), prompt(9, 4));
    // Each plan's draft for a leaves room for the model's own token within max_tokens.
    let emitted = 1;
    for (const [i, d] of draftsOf(h, 'a').entries()) {
      if (i === 0) continue;
      assert.ok(emitted + d.length + 1 <= 9, `step ${i}: draft of ${d.length} with ${emitted} emitted`);
      emitted += d.length + 1;
      if (emitted >= 9) break;
    }
    assert.equal(finishOf(h, 'b'), 'length');
    assert.equal(tokensOf(h, 'b').length, 40 - copying().length, 'b stopped at the context, no draft overflowed it');
  });

  it('drafts nothing when speculation is off, or for a request that opts out', () => {
    const off = harness({ speculative: false });
    off.add('a', { promptTokens: copying(), maxTokens: 10 });
    off.runAll();
    assert.ok(off.engine.plans.every((p) => !p.drafts));
    assert.equal(off.engine.plans.length, 10);
    const h = warm();
    h.add('a', { promptTokens: copying(), maxTokens: 10, speculative: false });
    h.add('b', { promptTokens: copying(), maxTokens: 10 });
    h.runAll();
    assert.ok(draftsOf(h, 'a').every((d) => d.length === 0));
    assert.ok(draftsOf(h, 'b').some((d) => d.length > 0));
    assert.deepEqual(tokensOf(h, 'a'), tokensOf(h, 'b'));
  });

  it('keeps rows x (1 + the longest draft) within speculativeStepTokens', () => {
    const h = warm({ maxBatch: 4, speculativeStepTokens: 12 });
    for (const id of ['a', 'b', 'c', 'd']) h.add(id, { promptTokens: copying(), maxTokens: 20 });
    h.runAll();
    for (const p of h.engine.plans) {
      const longest = Math.max(0, ...[...(p.drafts?.values() ?? [])].map((d) => d.length));
      assert.ok(p.decode.length * (1 + longest) <= 12, `${p.decode.length} rows with a draft of ${longest}`);
    }
    assert.ok(h.engine.plans.some((p) => p.decode.length === 4 && [...(p.drafts?.values() ?? [])].some((d) => d.length === 2)), '4 rows draft 2 tokens each');
    const none = warm({ maxBatch: 4, speculativeStepTokens: 4 });
    for (const id of ['a', 'b', 'c', 'd']) none.add(id, { promptTokens: copying(), maxTokens: 20 });
    none.runAll();
    assert.ok(none.engine.plans.every((p) => p.decode.length < 4 || !p.drafts), 'no room for drafts beside 4 rows');
  });

  it('chooses the draft length from measured step costs: long where draft tokens are cheap, none where they are dear', () => {
    /** 20 ms a decode step, `perDraft` ms for each draft token of every row (the padding too). */
    const priced = (perDraft: number): Harness => {
      const h: Harness = harness({ maxBatch: 2, speculativeStepTokens: 32 }, {
        onStep: (plan) => {
          const longest = Math.max(0, ...[...(plan.drafts?.values() ?? [])].map((d) => d.length));
          h.clock.advance(20 + perDraft * plan.decode.length * longest);
        },
      });
      for (const id of ['a', 'b']) h.add(id, { promptTokens: [...prompt(60), 1, 2, 3], maxTokens: 50 });
      h.runAll();
      return h;
    };
    // A draft token at 1/40 of a step: both rows draft their full 8 (16 tokens, past 8 a step).
    const cheap = priced(0.5);
    assert.ok(cheap.engine.plans.some((p) => p.decode.length === 2 && [...(p.drafts?.values() ?? [])].every((d) => d.length === 8)), 'two rows of 8');
    // A draft token that costs as much as a step: after the first priced step nothing is drafted
    // but the probes that price draft tokens again.
    const dear = priced(20);
    const drafting = dear.engine.plans.filter((p) => p.drafts).length;
    assert.ok(drafting <= 4, `${drafting} of ${dear.engine.plans.length} steps drafted`);
    for (const id of ['a', 'b']) assert.deepEqual(tokensOf(dear, id), tokensOf(cheap, id));
  });

  it('counts draft tokens in the step budget, after prompt chunks', () => {
    const h = warm({ maxBatch: 2, maxStepTokens: 6, prefillChunkTokens: 6 });
    h.add('a', { promptTokens: copying(), maxTokens: 30 });
    for (let i = 0; i < 6; i++) h.step();
    h.add('b', { promptTokens: prompt(12, 50), maxTokens: 2 });
    h.step();
    const plan = h.engine.plans.at(-1)!;
    assert.deepEqual(plan.prefill, [{ id: 'b', start: 0, end: 5 }], 'the prompt takes the budget left after the decode row');
    assert.equal(plan.drafts, undefined, 'no draft while a prompt uses the budget');
    for (const p of h.engine.plans) {
      const tokens = p.decode.length + p.prefill.reduce((n, c) => n + c.end - c.start, 0) + [...(p.drafts?.values() ?? [])].reduce((n, d) => n + d.length, 0);
      assert.ok(tokens <= 6, `a step of ${tokens} tokens`);
    }
  });

  it('shortens and then pauses the drafts of a row whose drafts keep failing', () => {
    // The engine counts up by 2; the prompt holds x, x + 2, x + 3 for every x, so every pair the
    // row ends with is found and the draft (x + 3, ...) is always wrong.
    const h = warm({}, { next: (last) => last + 2 });
    h.add('a', { promptTokens: [...Array.from({ length: 300 }, (_, i) => [i + 1, i + 3, i + 4]).flat(), 10, 12], maxTokens: 40 });
    h.runAll();
    const lengths = draftsOf(h, 'a').map((d) => d.length);
    const drafted = lengths.reduce((a, b) => a + b, 0);
    const usage = h.updates.get('a')!.at(-1)!.request.usage;
    assert.equal(usage.acceptedDraftTokens, 0);
    assert.equal(usage.rejectedDraftTokens, drafted);
    assert.ok(drafted <= 12, `${drafted} draft tokens wasted over ${lengths.length} steps: ${lengths.join(',')}`);
    assert.deepEqual(tokensOf(h, 'a').slice(0, 3), [14, 16, 18]);
    assert.ok(lengths.filter((n) => n > 0).length >= 4, 'it drafted before it paused');
  });
});
