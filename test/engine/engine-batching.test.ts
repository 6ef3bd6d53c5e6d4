// Continuous batching on the real node-mlx engine: a request's tokens do not depend on what
// else is in the batch, requests join and leave at step boundaries, rows are freed.
import assert from 'node:assert/strict';
import { greedy, makeRunner, prompt, staggered } from './helpers';
import type { GenerateParams } from '../../src/batching/request-types';

const LENGTHS = [3, 17, 40, 9, 64, 1, 25, 130];
const MAX_TOKENS = 12;

async function alone(params: GenerateParams[], engine = {}): Promise<number[][]> {
  const { runner } = await makeRunner(engine);
  const out: number[][] = [];
  for (const p of params) out.push((await runner.submit(p).collect()).tokens);
  return out;
}

describe('engine: continuous batching on node-mlx', function () {
  this.timeout(300_000);
  const params = LENGTHS.map((n, i) => greedy(prompt(i + 1, n), MAX_TOKENS));

  for (const prefix of [0, 4096]) {
    it(`greedy tokens equal running alone, batch of 8, staggered, 2 cancelled (prefix reuse ${prefix ? 'on' : 'off'})`, async () => {
      const expected = await alone(params);
      // Prompts join beside the decode rows unheld (decodeGapFactor 0), so the batch fills up.
      const { runner, engine } = await makeRunner({ prefixCacheTokens: prefix }, { maxBatch: 8, prefillChunkTokens: 32, decodeGapFactor: 0 });
      const sizes: number[] = [];
      const orig = engine.step.bind(engine);
      engine.step = async (plan) => {
        sizes.push(plan.decode.length);
        return orig(plan);
      };
      const got = await staggered(runner, params, new Set([2, 5]));
      got.forEach((g, i) => {
        if (i === 2 || i === 5) {
          assert.equal(g.finishReason, 'abort');
          assert.deepEqual(g.tokens, expected[i].slice(0, g.tokens.length), `cancelled request ${i} diverged`);
        } else {
          assert.equal(g.finishReason, 'length');
          assert.deepEqual(g.tokens, expected[i], `request ${i} (prompt ${LENGTHS[i]}) differs in the batch`);
        }
      });
      assert.ok(Math.max(...sizes) >= 4, `the batch never held more than ${Math.max(...sizes)} rows`);
      assert.equal(engine.batchSize, 0, 'every row is freed');
    });
  }

  it('reuses a cached prefix and reports it, with the same tokens', async () => {
    const base = prompt(99, 48);
    const longer = [...base, ...prompt(100, 5)];
    const [expected] = await alone([greedy(longer, 8)]);
    const { runner, engine } = await makeRunner({ prefixCacheTokens: 4096 });
    await runner.submit(greedy(base, 8)).collect();
    const r = await runner.submit(greedy(longer, 8)).collect();
    assert.ok(r.usage.cachedTokens >= base.length, `cached ${r.usage.cachedTokens} of ${base.length}`);
    assert.deepEqual(r.tokens, expected);
    assert.ok(engine.prefixStore.hits >= 1);
  });

  it('feeds the last tokens of a prompt after a reused prefix as a row of the decode rows\' pass, with the same tokens', async () => {
    const base = prompt(300, 48);
    const running = greedy(prompt(301, 20), 40);
    const tails = [1, 2, 4].map((k, i) => greedy([...base, ...prompt(310 + i, k)], 6, { priority: 'interactive' }));
    const expected = await alone([running, ...tails]);
    const { runner, engine } = await makeRunner({ prefixCacheTokens: 4096 });
    await runner.submit(greedy(base, 4)).collect();
    // Parts of each pass, and the prompt tokens planned beside decode rows.
    const passes: { parts: number; beside: number }[] = [];
    const forwardSteps = engine.model.forwardSteps.bind(engine.model);
    engine.model.forwardSteps = (parts, o) => {
      passes.push({ parts: parts.length, beside: 0 });
      return forwardSteps(parts, o);
    };
    const step = engine.step.bind(engine);
    engine.step = (plan) => {
      const pass = passes.length;
      const out = step(plan);
      if (plan.decode.length > 0 && plan.prefill.length > 0) passes[pass].beside = plan.prefill.length;
      return out;
    };
    const first = runner.submit(running);
    const got: Promise<{ tokens: number[] }>[] = [];
    const firstTokens: number[] = [];
    let n = 0;
    for await (const ev of first) {
      if (ev.type !== 'delta') continue;
      firstTokens.push(...ev.tokens);
      // One tail request after another while the first decodes.
      if ((n += ev.tokens.length) >= 2 && got.length < tails.length && n % 2 === 0) got.push(runner.submit(tails[got.length]).collect());
    }
    const results = await Promise.all(got);
    assert.equal(results.length, tails.length);
    assert.deepEqual(firstTokens, expected[0], 'the decoding request');
    results.forEach((r, i) => assert.deepEqual(r.tokens, expected[1 + i], `tail of ${[1, 2, 4][i]} tokens`));
    const beside = passes.filter((p) => p.beside > 0);
    assert.ok(beside.length >= tails.length, `${beside.length} passes had prompt chunks beside decode rows`);
    assert.deepEqual(beside.map((p) => p.parts), beside.map(() => 1), 'each tail ran in the decode rows\' part');
  });

  it('keeps a leaving request for reuse unless the prefix store already holds nearly all of it', async () => {
    const { runner, engine } = await makeRunner({ prefixCacheTokens: 4096 });
    // The prompt is stored when it is computed; 3 output tokens more are not worth a copy of 51.
    await runner.submit(greedy(prompt(340, 48), 4)).collect();
    assert.equal(engine.prefixStore.tokens, 48);
    // 19 output tokens over 48 stored are: prompt and output replace the prompt's entry.
    await runner.submit(greedy(prompt(341, 48), 20)).collect();
    assert.equal(engine.prefixStore.tokens, 48 + 67);
  });

  it('seeded sampling is reproducible, alone and in a batch; another seed gives other tokens for the same prompt', async () => {
    const same = prompt(200, 10);
    const sampled = (seed: number, promptTokens = same): GenerateParams => ({
      ...greedy(promptTokens, 10),
      sampling: { temperature: 0.9, topP: 0.9, topK: 50, seed },
    });
    const [a7, a8, again7] = await alone([sampled(7), sampled(8), sampled(7)]);
    assert.deepEqual(again7, a7);
    assert.notDeepEqual(a8, a7);
    const { runner } = await makeRunner();
    const together = await Promise.all([sampled(7), sampled(8), sampled(7), sampled(9, prompt(201, 30))].map((p) => runner.submit(p).collect()));
    assert.deepEqual(together[0].tokens, a7);
    assert.deepEqual(together[1].tokens, a8);
    assert.deepEqual(together[2].tokens, a7);
  });

  it('batching off runs one request at a time through the same engine', async () => {
    const { runner, engine } = await makeRunner({}, { batching: false });
    const sizes: number[] = [];
    const orig = engine.step.bind(engine);
    engine.step = async (plan) => {
      sizes.push(plan.decode.length + plan.prefill.length);
      return orig(plan);
    };
    const expected = await alone(params.slice(0, 3));
    const got = await Promise.all(params.slice(0, 3).map((p) => runner.submit(p).collect()));
    assert.deepEqual(got.map((g) => g.tokens), expected);
    assert.equal(Math.max(...sizes), 1);
  });
});
