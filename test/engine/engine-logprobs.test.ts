// Logprobs on the real node-mlx engine: every emitted token's log-probability and alternatives
// are the model's own distribution at that position (log-softmax of the raw logits), checked
// against one plain forward pass over the whole sequence; the same with speculative decoding on
// and in a batch, and sampled rows report the token they drew.
import assert from 'node:assert/strict';
import { greedy, makeRunner, prompt, tinyModel } from './helpers';
import { BatchKVCache } from '../../src/server/cache/batch-kv-cache';
import { mx } from '../../src/server/mlx';
import type { GenerateParams, TokenLogprob } from '../../src/batching/request-types';
import type { Runner } from '../../src/batching/runner';

async function run(runner: Runner, params: GenerateParams) {
  const tokens: number[] = [];
  const logprobs: TokenLogprob[] = [];
  for await (const e of runner.submit(params)) {
    if (e.type !== 'delta') continue;
    tokens.push(...e.tokens);
    logprobs.push(...(e.logprobs ?? []));
  }
  return { tokens, logprobs };
}

/** Log-softmax rows of one uncached pass over prompt + output: row i is output token i's distribution. */
async function reference(promptTokens: number[], output: number[]): Promise<number[][]> {
  const { model } = await tinyModel();
  const seq = [...promptTokens, ...output.slice(0, -1)];
  const cache = new BatchKVCache(model.args.numHiddenLayers);
  const logits = model.forward(mx.array(seq, mx.int32).reshape([1, seq.length]), cache).astype(mx.float32);
  const rows = logits.index(0, mx.Slice(promptTokens.length - 1));
  return mx.subtract(rows, mx.logsumexp(rows, -1, true)).tolist() as number[][];
}

function assertMatches(logprobs: TokenLogprob[], tokens: number[], rows: number[][], top: number): void {
  assert.equal(logprobs.length, tokens.length, 'one entry per emitted token');
  logprobs.forEach((lp, i) => {
    assert.equal(lp.token, tokens[i]);
    assert.ok(Math.abs(lp.logprob - rows[i][tokens[i]]) < 2e-3, `token ${i}: ${lp.logprob} vs ${rows[i][tokens[i]]}`);
    assert.equal(lp.top.length, top);
    const best = rows[i].map((v, t) => [v, t]).sort((a, b) => b[0] - a[0]).slice(0, top);
    lp.top.forEach((alt, j) => {
      assert.ok(Math.abs(alt.logprob - rows[i][alt.token]) < 2e-3, `token ${i} alternative ${j}`);
      assert.ok(Math.abs(alt.logprob - best[j][0]) < 2e-3, `token ${i} alternative ${j} is the ${j + 1}th likeliest`);
    });
  });
}

describe('engine: logprobs', function () {
  this.timeout(300_000);

  it('gives the model distribution of each greedy token and its most likely alternatives', async () => {
    const { runner } = await makeRunner({}, { speculative: false });
    const p = prompt(21, 30);
    const out = await run(runner, greedy(p, 12, { sampling: { temperature: 0, topP: 1, topK: 0, logprobs: 4 } }));
    assertMatches(out.logprobs, out.tokens, await reference(p, out.tokens), 4);
    // Greedy: the token is the likeliest one.
    out.logprobs.forEach((lp) => assert.equal(lp.top[0].token, lp.token));
  });

  it('gives the same logprobs with accepted and rejected drafts, beside other rows', async () => {
    const { runner } = await makeRunner({}, { speculative: true });
    const p = prompt(22, 40);
    const plain = await run(runner, greedy(p, 40, { speculative: false }));
    const spoiled = plain.tokens.map((t, i) => (i % 7 === 6 ? t + 1 : t));
    const sampling = { temperature: 0, topP: 1, topK: 0, logprobs: 2 };
    const [spec] = await Promise.all([
      run(runner, greedy(p, 40, { sampling, prediction: spoiled })),
      run(runner, greedy(prompt(23, 9), 30)),
      run(runner, greedy(prompt(24, 17), 20, { sampling })),
    ]);
    assert.deepEqual(spec.tokens, plain.tokens);
    assertMatches(spec.logprobs, spec.tokens, await reference(p, spec.tokens), 2);
  });

  it('reports the token a sampled row drew, with no alternatives when none are asked for', async () => {
    const { runner } = await makeRunner();
    const p = prompt(25, 20);
    const out = await run(runner, greedy(p, 16, { sampling: { temperature: 1.5, topP: 1, topK: 0, seed: 5, logprobs: 0 } }));
    assertMatches(out.logprobs, out.tokens, await reference(p, out.tokens), 0);
    const none = await run(runner, greedy(p, 4));
    assert.deepEqual(none.logprobs, [], 'nothing without logprobs');
  });
});
