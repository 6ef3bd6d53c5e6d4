// The real server process (src/cli/server/main.ts) on the tiny random-weight fixture models, driven
// over HTTP and with the official `openai` client: streaming chat, completion with suffix,
// abort, errors, and identical greedy answers under concurrency.
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { ensureFixtureModel } from '../../src/server/fixtures';
import { metric, post, waitFor } from '../http/helpers/harness';
import { TOKEN, startRealServer as start, stopRealServer as stop } from './helpers/real-server';
import type { SpawnedServer } from './helpers/spawn-server';

describe('real server on the tiny qwen2 fixture', function () {
  this.timeout(180_000);
  let server: SpawnedServer;
  let url: string;
  let client: OpenAI;

  before(async () => {
    const dir = await ensureFixtureModel('qwen2', 'tiny');
    ({ server, url } = await start(dir));
    client = new OpenAI({ baseURL: `${url}/v1`, apiKey: TOKEN, maxRetries: 0 });
  });
  after(async () => { if (server) await stop(server); });

  it('lists its model to the openai client', async () => {
    const models = await client.models.list();
    assert.deepEqual(models.data.map((m) => m.id), ['qwen2-tiny']);
  });

  it('streams a chat with usage through the openai client', async () => {
    const stream = await client.chat.completions.create({
      model: 'qwen2-tiny',
      messages: [{ role: 'system', content: 'You write code.' }, { role: 'user', content: 'Say hi' }],
      max_tokens: 6, temperature: 0, stream: true, stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined | null;
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(finish, 'length');
    assert.ok(text.length > 0);
    assert.equal(usage?.completion_tokens, 6);
    assert.ok((usage?.prompt_tokens ?? 0) > 5, 'the chat template added its markers');
    assert.equal(usage?.total_tokens, usage!.prompt_tokens + 6);
  });

  it('takes a prediction and penalties from the openai client, and reports accepted prediction tokens', async () => {
    const messages = [{ role: 'user' as const, content: 'Write a loop' }];
    const plain = await client.chat.completions.create({ model: 'qwen2-tiny', messages, max_tokens: 24, temperature: 0 });
    const text = plain.choices[0].message.content ?? '';
    const predicted = await client.chat.completions.create({ model: 'qwen2-tiny', messages, max_tokens: 24, temperature: 0, prediction: { type: 'content', content: text } });
    assert.equal(predicted.choices[0].message.content, text, 'the prediction changes the speed, never the text');
    const details = predicted.usage?.completion_tokens_details;
    assert.ok((details?.accepted_prediction_tokens ?? 0) > 0, JSON.stringify(predicted.usage));
    const penalized = await client.chat.completions.create({ model: 'qwen2-tiny', messages, max_tokens: 24, temperature: 0, presence_penalty: 1.5, frequency_penalty: 0.5 });
    assert.equal(penalized.usage?.completion_tokens, 24);
    await assert.rejects(client.chat.completions.create({ model: 'qwen2-tiny', messages, max_tokens: 4, presence_penalty: 3 }), (e: unknown) => e instanceof OpenAI.BadRequestError);
  });

  it('answers n choices through the openai client, computing the prompt once', async () => {
    const page = async () => (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    const cached0 = metric(await page(), 'mlx_batch_prompt_tokens_cached_total');
    const res = await client.chat.completions.create({ model: 'qwen2-tiny', messages: [{ role: 'user', content: 'Write a function that adds two numbers' }], max_tokens: 12, temperature: 1, seed: 5, n: 3 });
    assert.deepEqual(res.choices.map((c) => c.index), [0, 1, 2]);
    assert.equal(res.usage?.completion_tokens, 36);
    assert.ok(new Set(res.choices.map((c) => c.message.content)).size > 1, 'each choice draws its own tokens');
    // Choices 1 and 2 took choice 0's prompt from the prefix store: all of it but its last token.
    // (Choice 0 may itself reuse a prefix an earlier request left, the chat template's start.)
    const first = res.usage!.prompt_tokens_details?.cached_tokens ?? 0;
    await waitFor(async () => metric(await page(), 'mlx_batch_prompt_tokens_cached_total') - cached0 === first + 2 * (res.usage!.prompt_tokens - 1), 'the later choices to reuse the prompt');
  });

  it('reports logprobs through the openai client: chat tokens whose bytes make the text, completions\' parallel lists', async () => {
    const messages = [{ role: 'user' as const, content: 'Write a loop' }];
    const chat = await client.chat.completions.create({ model: 'qwen2-tiny', messages, max_tokens: 10, temperature: 0, logprobs: true, top_logprobs: 3 });
    const content = chat.choices[0].logprobs!.content!;
    assert.equal(content.length, 10);
    assert.equal(Buffer.concat(content.map((t) => Buffer.from(t.bytes!))).toString('utf8'), chat.choices[0].message.content, 'the tokens\' bytes are the answer');
    for (const t of content) {
      assert.equal(t.top_logprobs.length, 3);
      assert.equal(t.top_logprobs[0].token, t.token, 'greedy: the token is the likeliest');
      assert.ok(t.logprob <= 0 && t.top_logprobs[1].logprob <= t.top_logprobs[0].logprob);
    }
    const done = await client.completions.create({ model: 'qwen2-tiny', prompt: 'def add(a, b):', max_tokens: 6, temperature: 0, logprobs: 2 });
    const lp = done.choices[0].logprobs!;
    assert.equal(lp.tokens!.join(''), done.choices[0].text);
    assert.equal(lp.token_logprobs!.length, 6);
    assert.deepEqual(Object.keys(lp.top_logprobs![0]).length, 2);
    await assert.rejects(client.chat.completions.create({ model: 'qwen2-tiny', messages, max_tokens: 4, top_logprobs: 3 }), (e: unknown) => e instanceof OpenAI.BadRequestError);
  });

  it('serves llama.vscode\'s /infill: the warm-up computes the other files once, the completion reuses them', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const extra = [
      { text: 'export function clamp(x: number, lo: number, hi: number): number {\n  return Math.min(hi, Math.max(lo, x));\n}\n', time: 1, filename: 'src/math.ts' },
      { text: 'export const LIMIT = 100;\n', time: 2, filename: 'src/limits.ts' },
    ];
    const warm = await (await post(`${url}/infill`, { input_prefix: '', input_suffix: '', input_extra: extra, prompt: '', n_predict: 0, samplers: [], cache_prompt: true, t_max_prompt_ms: 500, t_max_predict_ms: 1 }, auth)).json();
    assert.equal(warm.tokens_predicted, 0);
    assert.equal(warm.content, '');
    const done = await (await post(`${url}/infill`, {
      input_prefix: 'import { clamp } from "./math";\n', input_suffix: '\n', input_extra: extra, prompt: 'const y = ',
      n_predict: 8, top_k: 40, top_p: 0.99, stream: false, samplers: ['top_k', 'top_p', 'infill'], cache_prompt: true, t_max_prompt_ms: 500, t_max_predict_ms: 1000,
    }, auth)).json();
    // Qwen's PSM: the warm-up is [other files, <|fim_prefix|>, <|fim_suffix|>, <|fim_middle|>]; the
    // completion shares all of it up to and with <|fim_prefix|>.
    assert.equal(done.tokens_cached, warm.tokens_evaluated - 2);
    assert.ok(done.tokens_evaluated > warm.tokens_evaluated);
    assert.equal(done.timings.prompt_n, done.tokens_evaluated - done.tokens_cached);
    assert.equal(done.tokens_predicted, done.timings.predicted_n);
  });

  it('completes with a suffix (fill-in-the-middle) through the openai client', async () => {
    const res = await client.completions.create({ model: 'qwen2-tiny', prompt: 'def add(a, b):\n    return ', suffix: '\n\nprint(add(1, 2))\n', max_tokens: 5, temperature: 0 });
    assert.equal(res.object, 'text_completion');
    assert.ok(['length', 'stop'].includes(res.choices[0].finish_reason));
    assert.ok(res.usage!.prompt_tokens > 10);
    const plain = await client.completions.create({ model: 'qwen2-tiny', prompt: 'def add(a, b):\n    return ', max_tokens: 5, temperature: 0 });
    assert.ok(plain.usage!.prompt_tokens < res.usage!.prompt_tokens, 'the suffix and FIM markers are part of the prompt');
  });

  it('cancels a stream the openai client aborts, freeing its row', async () => {
    const before = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    const aborts = metric(before, 'mlx_batch_requests_finished_total{reason="abort"}');
    const stream = await client.chat.completions.create({ model: 'qwen2-tiny', messages: [{ role: 'user', content: 'Write a long story' }], max_tokens: 2000, temperature: 0, stream: true });
    let chunks = 0;
    for await (const _ of stream) {
      if (++chunks === 3) stream.controller.abort();
    }
    assert.equal(chunks, 3);
    let page = '';
    await waitFor(async () => {
      page = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
      return metric(page, 'mlx_batch_requests_running') === 0;
    }, 20_000);
    assert.equal(metric(page, 'mlx_batch_requests_finished_total{reason="abort"}'), aborts + 1);
    assert.ok(metric(page, 'mlx_batch_kv_reserved_tokens') === 0, 'no cache reserved once the stream is gone');
  });

  it('raises OpenAI errors for bad requests and a bad key', async () => {
    await assert.rejects(client.completions.create({ model: 'qwen2-tiny', prompt: 'x', n: 17 }), (e: unknown) => e instanceof OpenAI.BadRequestError && e.status === 400);
    await assert.rejects(client.completions.create({ model: 'other', prompt: 'x' }), (e: unknown) => e instanceof OpenAI.NotFoundError);
    const bad = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'wrong-key-wrong-key', maxRetries: 0 });
    await assert.rejects(bad.models.list(), (e: unknown) => e instanceof OpenAI.AuthenticationError);
  });

  it('gives 8 identical greedy requests identical text, run together in one batch', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const body = { prompt: 'function quickSort(arr) {', max_tokens: 12, temperature: 0 };
    const alone = await (await post(`${url}/v1/completions`, body, auth)).json();
    const together = await Promise.all(Array.from({ length: 8 }, async () => (await post(`${url}/v1/completions`, body, auth)).json()));
    for (const r of together) assert.equal(r.choices[0].text, alone.choices[0].text);
    const page = await (await fetch(`${url}/metrics`, { headers: auth })).text();
    const batchedSteps = metric(page, 'mlx_batch_batch_size_bucket{le="+Inf"}') - metric(page, 'mlx_batch_batch_size_bucket{le="1"}');
    assert.ok(batchedSteps > 0, 'some steps ran several requests at once');
  });
});

describe('real server on the tiny llama fixture (no FIM tokens)', function () {
  this.timeout(180_000);

  it('answers a suffix with a clear 400', async () => {
    const dir = await ensureFixtureModel('llama', 'tiny');
    const { server, url } = await start(dir);
    try {
      const res = await post(`${url}/v1/completions`, { prompt: 'def f(', suffix: ')', max_tokens: 2 }, { authorization: `Bearer ${TOKEN}` });
      assert.equal(res.status, 400);
      const err = (await res.json()).error;
      assert.equal(err.type, 'unsupported_feature');
      assert.equal(err.param, 'suffix');
      assert.match(err.message, /fill-in-the-middle/);
    } finally {
      await stop(server);
    }
  });
});
