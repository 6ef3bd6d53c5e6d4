// Speculative decoding inside the batch on the real node-mlx engine: drafts are checked in the
// same pass as the decode rows, rejected ones leave the cache, and greedy output is exactly what
// decoding one token at a time gives, alone, in a staggered batch with cancellations, after a
// reused prefix, and when EOS, a stop string or max_tokens falls inside an accepted draft.
//
// A random-weight model copies nothing by itself, so the drafts come from a prediction: the
// request's own output (decoded without speculation) with every seventh token changed, which
// makes the engine accept runs of drafts and reject others in the same rows.
import assert from 'node:assert/strict';
import { greedy, makeRunner, prompt, staggered } from './helpers';
import type { GenerateParams, IncrementalDecoder } from '../../src/batching/request-types';
import type { Runner } from '../../src/batching/runner';
import { StepCost, type DraftingRow } from '../../src/batching/step-cost';

const spoil = (tokens: readonly number[]) => tokens.map((t, i) => (i % 7 === 6 ? t + 1 : t));

async function run(runner: Runner, params: GenerateParams) {
  const events = [];
  for await (const e of runner.submit(params)) events.push(e);
  const tokens = events.flatMap((e) => (e.type === 'delta' ? e.tokens : []));
  const text = events.map((e) => (e.type === 'delta' ? e.text : '')).join('');
  const finish = events.find((e) => e.type === 'finish');
  // Tokens carried by the last delta that carried any: more than one when the request ended in a step that accepted drafts.
  const last = events.filter((e) => e.type === 'delta' && e.tokens.length > 0).pop();
  const lastStep = last?.type === 'delta' ? last.tokens.length : 0;
  return { tokens, text, lastStep, finish: finish?.type === 'finish' ? finish : undefined };
}

/**
 * Every drafting row drafts as far as it can in every step: how many drafts are checked, and where
 * a stop falls inside one, must not hang on how this machine's step times make the measured model
 * choose lengths.
 */
class FullDrafts extends StepCost {
  override draftLength(_rows: number, drafting: readonly DraftingRow[], ceiling: number): number {
    return Math.min(ceiling, Math.max(0, ...drafting.map((d) => d.tokens)));
  }
}

/** Text of a token: its id and a space (a decoder the stop-string tests can reason about). */
function decoder(): IncrementalDecoder {
  return { push: (t) => `${t} `, flush: () => '' };
}

describe('engine: speculative decoding in the batch', function () {
  this.timeout(300_000);

  it('gives the greedy tokens of plain decoding, accepting and rejecting drafts, and reports them in usage', async () => {
    const { runner } = await makeRunner({}, { speculative: false }, new FullDrafts());
    const p = prompt(11, 40);
    const plain = await run(runner, greedy(p, 64));
    runner.setSpeculative(true);
    const spec = await run(runner, greedy(p, 64, { prediction: spoil(plain.tokens) }));
    assert.deepEqual(spec.tokens, plain.tokens);
    const usage = spec.finish!.usage;
    assert.ok(usage.acceptedDraftTokens >= 20, `accepted ${usage.acceptedDraftTokens} draft tokens`);
    assert.ok(usage.rejectedDraftTokens >= 5, `rejected ${usage.rejectedDraftTokens} draft tokens`);
    assert.equal(usage.completionTokens, 64);
    const stats = runner.stats();
    assert.equal(stats.draftTokens, usage.acceptedDraftTokens + usage.rejectedDraftTokens);
    assert.equal(stats.draftAccepted, usage.acceptedDraftTokens);
  });

  it('checks drafts of a penalized greedy row against the penalties one-at-a-time decoding applies', async () => {
    const { runner } = await makeRunner({}, { speculative: false });
    const p = prompt(13, 30);
    const penalized = { temperature: 0, topP: 1, topK: 0, presencePenalty: 0.8, frequencyPenalty: 0.3, repetitionPenalty: 1.5, repetitionWindow: 16 };
    const plain = await run(runner, greedy(p, 40, { sampling: penalized }));
    const unpenalized = await run(runner, greedy(p, 40));
    assert.notDeepEqual(plain.tokens, unpenalized.tokens, 'the penalties change the output');
    runner.setSpeculative(true);
    const spec = await run(runner, greedy(p, 40, { sampling: penalized, prediction: spoil(plain.tokens) }));
    assert.deepEqual(spec.tokens, plain.tokens);
    assert.ok(spec.finish!.usage.acceptedDraftTokens >= 10, `${spec.finish!.usage.acceptedDraftTokens} accepted`);
  });

  it('a request with speculative: false drafts nothing', async () => {
    const { runner } = await makeRunner();
    const p = prompt(12, 30);
    const plain = await run(runner, greedy(p, 24, { speculative: false }));
    const again = await run(runner, greedy(p, 24, { speculative: false, prediction: plain.tokens }));
    assert.deepEqual(again.tokens, plain.tokens);
    assert.equal(again.finish!.usage.acceptedDraftTokens + again.finish!.usage.rejectedDraftTokens, 0);
    assert.equal(runner.stats().draftTokens, 0);
  });

  it('keeps every row exact in a staggered batch of 8 with cancellations, rows drafting beside rows that do not', async () => {
    const lengths = [3, 17, 40, 9, 64, 1, 25, 130];
    const { runner: ref } = await makeRunner({}, { speculative: false });
    const base = lengths.map((n, i) => greedy(prompt(100 + i, n), 20 + 3 * i));
    const want: number[][] = [];
    for (const p of base) want.push((await run(ref, p)).tokens);
    // Even rows carry a prediction (mostly right), odd rows none.
    const params = base.map((p, i) => (i % 2 === 0 ? { ...p, prediction: spoil(want[i]) } : p));
    // Room for long drafts beside 8 rows.
    // Prompts unheld (decodeGapFactor 0) take fewer steps, so more steps carry drafts.
    const { runner } = await makeRunner({}, { speculativeStepTokens: 64, decodeGapFactor: 0 });
    const cancel = new Set([2, 5]);
    const got = await staggered(runner, params, cancel);
    got.forEach((g, i) => {
      if (cancel.has(i)) {
        assert.equal(g.finishReason, 'abort', `row ${i}`);
        assert.deepEqual(g.tokens, want[i].slice(0, g.tokens.length), `row ${i}: what came before the cancel`);
      } else assert.deepEqual(g.tokens, want[i], `row ${i}`);
    });
    // Drafts ride only in steps without a prompt chunk, and staggered arrivals keep prompts coming.
    assert.ok(runner.stats().draftAccepted >= 20, `${runner.stats().draftAccepted} draft tokens accepted in the batch`);
  });

  it('is exact after a reused prefix', async () => {
    const { runner: ref } = await makeRunner({ prefixCacheTokens: 4096 }, { speculative: false });
    const shared = prompt(21, 48);
    const first = [...shared, ...prompt(22, 5)];
    const second = [...shared, ...prompt(23, 7)];
    await run(ref, greedy(first, 8));
    const want = await run(ref, greedy(second, 40));
    const { runner } = await makeRunner({ prefixCacheTokens: 4096 });
    await run(runner, greedy(first, 8));
    const got = await run(runner, greedy(second, 40, { prediction: spoil(want.tokens) }));
    assert.ok(got.finish!.usage.cachedTokens >= 48, `reused ${got.finish!.usage.cachedTokens} prompt tokens`);
    assert.ok(got.finish!.usage.acceptedDraftTokens > 0);
    assert.deepEqual(got.tokens, want.tokens);
  });

  it('stops at EOS, a stop string or max_tokens inside an accepted draft, and emits nothing past it', async () => {
    const { runner } = await makeRunner({}, { speculative: false }, new FullDrafts());
    const p = prompt(31, 20);
    const full = await run(runner, greedy(p, 48));
    runner.setSpeculative(true);
    // The prediction is exactly right, so the stops fall inside accepted drafts.
    const exact = { prediction: full.tokens };

    const eos = full.tokens[20];
    const atEos = full.tokens.indexOf(eos);
    const e = await run(runner, greedy(p, 48, { ...exact, ignoreEos: false, eosTokenIds: [eos] }));
    assert.deepEqual(e.tokens, full.tokens.slice(0, atEos + 1));
    assert.equal(e.finish!.finishReason, 'stop');
    assert.ok(e.lastStep > 1, `EOS came in a step of ${e.lastStep} tokens`);

    const m = await run(runner, greedy(p, 13, exact));
    assert.deepEqual(m.tokens, full.tokens.slice(0, 13));
    assert.equal(m.finish!.finishReason, 'length');
    assert.equal(m.finish!.usage.completionTokens, 13);
    assert.ok(m.lastStep > 1, `max_tokens reached in a step of ${m.lastStep} tokens`);

    const stop = `${full.tokens[25]} ${full.tokens[26]} `;
    const plainText = full.tokens.map((t) => `${t} `).join('');
    const s = await run(runner, greedy(p, 48, { ...exact, decoder: decoder(), stop: [stop] }));
    assert.equal(s.text, plainText.slice(0, plainText.indexOf(stop)));
    assert.equal(s.finish!.finishReason, 'stop');
    assert.ok(s.tokens.length <= 27, `${s.tokens.length} tokens emitted, the stop string ends at the 27th`);
    assert.ok(s.lastStep > 1, `the stop string came in a step of ${s.lastStep} tokens`);
  });

  it('keeps seeded sampling reproducible, and accepts a sampled row\'s own likely tokens', async () => {
    const { runner } = await makeRunner();
    const p = prompt(41, 24);
    const sampled = (temperature: number, extra: Partial<GenerateParams> = {}) => ({ ...greedy(p, 40), sampling: { temperature, topP: 0.95, topK: 0, seed: 7 }, ...extra });
    const a = await run(runner, sampled(0.7));
    const b = await run(runner, sampled(0.7));
    assert.deepEqual(b.tokens, a.tokens, 'same seed, same tokens');
    const c = await run(runner, sampled(0.7, { prediction: a.tokens }));
    const d = await run(runner, sampled(0.7, { prediction: a.tokens }));
    assert.deepEqual(d.tokens, c.tokens, 'same seed and prediction, same tokens');
    // A peaked distribution (low temperature): the row's earlier draw is drawn again almost surely.
    const e = await run(runner, sampled(0.05));
    const f = await run(runner, sampled(0.05, { prediction: e.tokens }));
    // How many are drafted follows what drafting steps give on this machine (StepCost); what is
    // drafted is accepted.
    const { acceptedDraftTokens: yes, rejectedDraftTokens: no } = f.finish!.usage;
    assert.ok(yes > 0 && yes >= 0.9 * (yes + no), `${yes} draft tokens accepted, ${no} rejected`);
  });
});
