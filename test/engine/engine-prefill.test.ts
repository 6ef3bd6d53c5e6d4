// One pass per step: the decode rows and every prompt chunk of a step (fresh, mid-prompt, after a
// reused prefix) share one packed forward pass, and each request gets the tokens it gets alone.
import assert from 'node:assert/strict';
import { MlxEngine, type MlxEngineOptions } from '../../src/server/engine/mlx-engine';
import type { StepPlan } from '../../src/batching/engine';
import type { LanguageModel } from '../../src/server/model/types';
import { prompt, tinyModel } from './helpers';

const GREEDY = { temperature: 0, topP: 1, topK: 0 };
const STEPS = 6;

/** Counts forward passes of the model while `fn` runs (whole, or a layer at a time as prompts run). */
async function countPasses<T>(model: LanguageModel, fn: () => Promise<T>): Promise<[T, number]> {
  const forward = model.forward;
  const forwardSteps = model.forwardSteps;
  let n = 0;
  model.forward = (...args) => {
    n += 1;
    return forward.apply(model, args);
  };
  model.forwardSteps = (...args) => {
    n += 1;
    return forwardSteps.apply(model, args);
  };
  try {
    return [await fn(), n];
  } finally {
    model.forward = forward;
    model.forwardSteps = forwardSteps;
  }
}

async function alone(model: LanguageModel, p: number[]): Promise<number[]> {
  const e = new MlxEngine(model, { prefixCacheTokens: 0 });
  e.add({ id: 'x', promptTokens: p, sampling: GREEDY });
  const out = [(await e.step({ decode: [], prefill: [{ id: 'x', start: 0, end: p.length }] })).tokens.get('x')!];
  while (out.length < STEPS) out.push((await e.step({ decode: ['x'], prefill: [] })).tokens.get('x')!);
  return out;
}

/**
 * A: 8 of 20 prompt tokens computed in step 1, the rest in step 2 (12); B, C, D start and end in
 * step 2 (5, 9, 12 tokens); E's 40-token prompt starts there with a 12-token chunk and ends in
 * step 3, beside the decode rows of A-D. Then everyone decodes. Returns the forward passes of
 * steps 2 and 3.
 */
async function together(model: LanguageModel, prompts: Record<string, number[]>, options: Partial<MlxEngineOptions> = {}) {
  const e = new MlxEngine(model, { prefixCacheTokens: 0, ...options });
  const out: Record<string, number[]> = Object.fromEntries(Object.keys(prompts).map((id) => [id, []]));
  const run = async (plan: StepPlan) => {
    for (const [id, t] of (await e.step(plan)).tokens) out[id].push(t);
  };
  e.add({ id: 'A', promptTokens: prompts.A, sampling: GREEDY });
  await run({ decode: [], prefill: [{ id: 'A', start: 0, end: 8 }] });
  for (const id of ['B', 'C', 'D', 'E']) e.add({ id, promptTokens: prompts[id], sampling: GREEDY });
  const [, prefillPasses] = await countPasses(model, () => run({
    decode: [],
    prefill: [
      { id: 'A', start: 8, end: 20 }, { id: 'B', start: 0, end: 5 }, { id: 'C', start: 0, end: 9 },
      { id: 'D', start: 0, end: 12 }, { id: 'E', start: 0, end: 12 },
    ],
  }));
  assert.equal(e.batchSize, 4, 'A-D joined the batch when their prompts ended');
  const [, mixedPasses] = await countPasses(model, () => run({ decode: ['A', 'B', 'C', 'D'], prefill: [{ id: 'E', start: 12, end: 40 }] }));
  while (out.E.length < STEPS) await run({ decode: ['A', 'B', 'C', 'D', 'E'], prefill: [] });
  for (const id of Object.keys(out)) out[id] = out[id].slice(0, STEPS);
  assert.equal(e.batchSize, 5);
  for (const id of Object.keys(prompts)) e.release(id);
  assert.equal(e.batchSize, 0);
  return { out, prefillPasses, mixedPasses };
}

describe('engine: one packed pass per step', function () {
  this.timeout(300_000);
  const prompts: Record<string, number[]> = {
    A: prompt(301, 20), B: prompt(302, 5), C: prompt(303, 9), D: prompt(304, 12), E: prompt(305, 40),
  };

  it('runs a step\'s chunks, and chunks beside decode rows, in one pass, with the tokens each prompt gets alone', async () => {
    const { model } = await tinyModel();
    const { out, prefillPasses, mixedPasses } = await together(model, prompts);
    assert.equal(prefillPasses, 1, 'five chunks (one mid-prompt, four fresh) in one forward pass');
    assert.equal(mixedPasses, 1, 'four decode rows and a chunk in one forward pass');
    for (const id of Object.keys(prompts)) assert.deepEqual(out[id], await alone(model, prompts[id]), `request ${id}`);
  });

  it('small chunks beside decode rows ride as rows of the batch\'s part, idle a step, leave it for a wide chunk, with the tokens each prompt gets alone', async () => {
    const { model } = await tinyModel();
    const e = new MlxEngine(model, { prefixCacheTokens: 0 });
    const p = { D: prompt(320, 10), P: prompt(321, 30), Q: prompt(322, 7) };
    const out: Record<string, number[]> = { D: [], P: [], Q: [] };
    // The parts of each pass (the batch's part counts its rows).
    const parts: number[][] = [];
    const forwardSteps = model.forwardSteps;
    model.forwardSteps = (ps, o) => {
      parts.push(ps.map((x) => x.inputs.shape[0]));
      return forwardSteps.call(model, ps, o);
    };
    const run = async (plan: StepPlan) => {
      for (const [id, t] of (await e.step(plan)).tokens) out[id].push(t);
    };
    try {
      for (const id of ['D', 'P', 'Q'] as const) e.add({ id, promptTokens: p[id], sampling: GREEDY });
      await run({ decode: [], prefill: [{ id: 'D', start: 0, end: 10 }] });
      // P's first chunks and all of Q (3 + 4 tokens) ride beside D as rows.
      await run({ decode: ['D'], prefill: [{ id: 'P', start: 0, end: 3 }, { id: 'Q', start: 0, end: 3 }] });
      assert.equal(e.batchSize, 3, 'P and Q joined the batch as prompt rows');
      await run({ decode: ['D'], prefill: [{ id: 'P', start: 3, end: 7 }, { id: 'Q', start: 3, end: 7 }] });
      // P gets no chunk this step: its row is padding only.
      await run({ decode: ['D', 'Q'], prefill: [] });
      // Too wide to ride as a row (3 rows x 20 > 32): P leaves the batch and runs as a part of its own.
      await run({ decode: ['D', 'Q'], prefill: [{ id: 'P', start: 7, end: 27 }] });
      assert.equal(e.batchSize, 2, 'P left the batch for its wide chunk');
      await run({ decode: ['D', 'Q'], prefill: [{ id: 'P', start: 27, end: 30 }] });
      while (out.P.length < STEPS) await run({ decode: ['D', 'Q', 'P'], prefill: [] });
    } finally {
      model.forwardSteps = forwardSteps;
    }
    assert.deepEqual(parts.slice(1, 5), [[3], [3], [3], [2, 1]], 'rows beside D in one part; the wide chunk a part of its own');
    for (const id of ['D', 'P', 'Q'] as const) assert.deepEqual(out[id].slice(0, STEPS), await alone(model, p[id]), `request ${id}`);
    for (const id of ['D', 'P', 'Q']) e.release(id);
    assert.equal(e.batchSize, 0);
  });

  it('a step without decode rows leaves the batch\'s rows waiting and runs its chunks as parts', async () => {
    const { model } = await tinyModel();
    const e = new MlxEngine(model, { prefixCacheTokens: 0 });
    const d = prompt(330, 10);
    const q = prompt(331, 6);
    e.add({ id: 'D', promptTokens: d, sampling: GREEDY });
    e.add({ id: 'Q', promptTokens: q, sampling: GREEDY });
    const out: number[] = [(await e.step({ decode: [], prefill: [{ id: 'D', start: 0, end: 10 }] })).tokens.get('D')!];
    out.push((await e.step({ decode: ['D'], prefill: [] })).tokens.get('D')!);
    const [waited, passes] = await countPasses(model, () => e.step({ decode: [], prefill: [{ id: 'Q', start: 0, end: 6 }] }));
    assert.equal(passes, 1);
    assert.deepEqual([...waited.tokens.keys()], ['Q'], 'D waited');
    assert.equal(waited.tokens.get('Q'), (await alone(model, q))[0]);
    while (out.length < STEPS) out.push((await e.step({ decode: ['D', 'Q'], prefill: [] })).tokens.get('D')!);
    assert.deepEqual(out, await alone(model, d));
  });

  it('a chunk after a reused prefix shares the pass with a fresh prompt', async () => {
    const { model } = await tinyModel();
    const base = prompt(310, 30);
    const longer = [...base, ...prompt(311, 6)];
    const e = new MlxEngine(model, { prefixCacheTokens: 4096 });
    e.add({ id: 'base', promptTokens: base, sampling: GREEDY });
    await e.step({ decode: [], prefill: [{ id: 'base', start: 0, end: base.length }] });
    e.release('base');
    const { cachedTokens } = e.add({ id: 'L', promptTokens: longer, sampling: GREEDY });
    assert.equal(cachedTokens, base.length);
    const other = prompt(312, 3);
    e.add({ id: 'O', promptTokens: other, sampling: GREEDY });
    const [tokens, passes] = await countPasses(model, () => e.step({
      decode: [], prefill: [{ id: 'L', start: cachedTokens, end: longer.length }, { id: 'O', start: 0, end: 3 }],
    }));
    assert.equal(passes, 1);
    assert.equal(tokens.tokens.get('L'), (await alone(model, longer))[0]);
    assert.equal(tokens.tokens.get('O'), (await alone(model, other))[0]);
  });
});
