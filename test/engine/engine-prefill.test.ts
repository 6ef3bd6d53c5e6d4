// Batched prefill: the prompt chunks of one step share left-padded forward passes (fresh rows
// padded, rows mid-prompt or with a reused prefix unpadded), with the same tokens as alone.
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
 * A: 8 of 20 prompt tokens computed in step 1, the rest in step 2 (12, unpadded); B, C, D start
 * in step 2 (5, 9, 12 tokens: padded); E's 40-token prompt starts there with a 12-token chunk and
 * ends in step 3. Then everyone decodes.
 */
async function together(model: LanguageModel, prompts: Record<string, number[]>, options: Partial<MlxEngineOptions>) {
  const e = new MlxEngine(model, { prefixCacheTokens: 0, ...options });
  const out: Record<string, number[]> = Object.fromEntries(Object.keys(prompts).map((id) => [id, []]));
  const run = async (plan: StepPlan) => {
    for (const [id, t] of (await e.step(plan)).tokens) out[id].push(t);
  };
  e.add({ id: 'A', promptTokens: prompts.A, sampling: GREEDY });
  await run({ decode: [], prefill: [{ id: 'A', start: 0, end: 8 }] });
  for (const id of ['B', 'C', 'D', 'E']) e.add({ id, promptTokens: prompts[id], sampling: GREEDY });
  const [, passes] = await countPasses(model, () => run({
    decode: [],
    prefill: [
      { id: 'A', start: 8, end: 20 }, { id: 'B', start: 0, end: 5 }, { id: 'C', start: 0, end: 9 },
      { id: 'D', start: 0, end: 12 }, { id: 'E', start: 0, end: 12 },
    ],
  }));
  await run({ decode: ['A', 'B', 'C', 'D'], prefill: [{ id: 'E', start: 12, end: 40 }] });
  while (out.E.length < STEPS) await run({ decode: ['A', 'B', 'C', 'D', 'E'], prefill: [] });
  for (const id of Object.keys(out)) out[id] = out[id].slice(0, STEPS);
  assert.equal(e.batchSize, 5);
  for (const id of Object.keys(prompts)) e.release(id);
  assert.equal(e.batchSize, 0);
  return { out, passes };
}

describe('engine: batched prefill', function () {
  this.timeout(300_000);
  const prompts: Record<string, number[]> = {
    A: prompt(301, 20), B: prompt(302, 5), C: prompt(303, 9), D: prompt(304, 12), E: prompt(305, 40),
  };

  it('runs a step\'s chunks in one left-padded pass, with the tokens each prompt gets alone', async () => {
    const { model } = await tinyModel();
    const { out, passes } = await together(model, prompts, { passOverheadTokens: 16 });
    assert.equal(passes, 1, 'five chunks (one mid-prompt, four fresh) in one forward pass');
    for (const id of Object.keys(prompts)) assert.deepEqual(out[id], await alone(model, prompts[id]), `request ${id}`);
  });

  it('splits into passes by length when passes are nearly free, with the same tokens', async () => {
    const { model } = await tinyModel();
    const { out, passes } = await together(model, prompts, { passOverheadTokens: 1 });
    assert.equal(passes, 3, 'A, D, E (12 tokens each), then C (9) and B (5) alone');
    for (const id of Object.keys(prompts)) assert.deepEqual(out[id], await alone(model, prompts[id]), `request ${id}`);
  });

  it('a reused prefix is a row that holds tokens: it joins a pass unpadded', async () => {
    const { model } = await tinyModel();
    const base = prompt(310, 30);
    const longer = [...base, ...prompt(311, 6)];
    const e = new MlxEngine(model, { prefixCacheTokens: 4096, passOverheadTokens: 64 });
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
