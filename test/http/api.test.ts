// The OpenAI-compatible endpoints over the real runner with a deterministic engine: shapes,
// usage, streaming, FIM, stop strings, context limits and the info endpoints.
import assert from 'node:assert/strict';
import { metric, post, readSse, sseJson, startTestServer, waitFor, type TestServer } from './helpers/harness';

describe('server: OpenAI endpoints', () => {
  let s: TestServer;
  before(async () => { s = await startTestServer(); });
  after(async () => { await s.close(); });

  it('answers a completion with text, finish_reason and usage', async () => {
    const res = await post(`${s.url}/v1/completions`, { prompt: 'xa', max_tokens: 5, temperature: 0 });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('x-request-id') ?? '', /^req-/);
    const body = await res.json();
    assert.equal(body.object, 'text_completion');
    assert.equal(body.model, 'test-model');
    assert.match(body.id, /^cmpl-/);
    assert.deepEqual(body.choices, [{ index: 0, text: 'bcdef', finish_reason: 'length', logprobs: null }]);
    assert.deepEqual(body.usage, { prompt_tokens: 2, completion_tokens: 5, total_tokens: 7, prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 } });
  });

  it('uses 16 tokens by default for completions', async () => {
    const body = await (await post(`${s.url}/v1/completions`, { prompt: 'a' })).json();
    assert.equal(body.usage.completion_tokens, 16);
  });

  it('streams a completion as server-sent events ending with [DONE]', async () => {
    const res = await post(`${s.url}/v1/completions`, { prompt: 'a', max_tokens: 4, stream: true });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const frames = await readSse(res);
    assert.equal(frames.at(-1), '[DONE]');
    const chunks = sseJson(frames);
    assert.equal(chunks.map((c) => c.choices[0].text).join(''), 'bcde');
    const last = chunks.at(-1);
    assert.equal(last.choices[0].finish_reason, 'length');
    assert.equal(last.usage.completion_tokens, 4, 'the finish chunk carries usage when no usage chunk is asked for');
    assert.ok(chunks.slice(0, -1).every((c) => c.choices[0].finish_reason === null));
    assert.equal(new Set(chunks.map((c) => c.id)).size, 1, 'one id for the whole stream');
  });

  it('streams a chat with a role chunk first and a usage chunk with include_usage', async () => {
    const res = await post(`${s.url}/v1/chat/completions`, {
      messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi' }],
      max_tokens: 3, stream: true, stream_options: { include_usage: true },
    });
    const chunks = sseJson(await readSse(res));
    assert.equal(chunks[0].object, 'chat.completion.chunk');
    assert.equal(chunks[0].choices[0].delta.role, 'assistant');
    const usageChunk = chunks.at(-1);
    assert.deepEqual(usageChunk.choices, []);
    const promptLen = [...'<system>be brief<user>hi<assistant>'].length;
    assert.equal(usageChunk.usage.prompt_tokens, promptLen);
    assert.equal(usageChunk.usage.completion_tokens, 3);
    const finish = chunks.at(-2);
    assert.equal(finish.choices[0].finish_reason, 'length');
    assert.equal(finish.usage, null);
    // '<assistant>' ends with '>', so the letters start at 'a'.
    assert.equal(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join(''), 'abc');
  });

  it('answers a chat without streaming', async () => {
    const body = await (await post(`${s.url}/v1/chat/completions`, { messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], max_tokens: 2 })).json();
    assert.equal(body.object, 'chat.completion');
    assert.deepEqual(body.choices[0].message, { role: 'assistant', content: 'ab' });
    assert.equal(body.usage.total_tokens, body.usage.prompt_tokens + 2);
  });

  it('ends at a stop string, which is not part of the text', async () => {
    const body = await (await post(`${s.url}/v1/completions`, { prompt: 'a', max_tokens: 10, stop: ['e', 'zz'] })).json();
    assert.equal(body.choices[0].text, 'bcd');
    assert.equal(body.choices[0].finish_reason, 'stop');
  });

  it('builds a fill-in-the-middle prompt from suffix', async () => {
    const body = await (await post(`${s.url}/v1/completions`, { prompt: 'def f(', suffix: ')\n', max_tokens: 2 })).json();
    assert.equal(body.usage.prompt_tokens, [...'<PRE>def f(<SUF>)\n<MID>'].length);
  });

  it('builds a fill-in-the-middle prompt without the blanks that end the prefix (whitespace healing)', async () => {
    const plain = await (await post(`${s.url}/v1/completions`, { prompt: 'def f(', suffix: ')\n', max_tokens: 2 })).json();
    const blanks = await (await post(`${s.url}/v1/completions`, { prompt: 'def f( \t ', suffix: ')\n', max_tokens: 2 })).json();
    assert.equal(blanks.usage.prompt_tokens, plain.usage.prompt_tokens);
    assert.equal(blanks.choices[0].text, plain.choices[0].text);
    const noSuffix = await (await post(`${s.url}/v1/completions`, { prompt: 'a  ', max_tokens: 2 })).json();
    assert.equal(noSuffix.usage.prompt_tokens, 3, 'a plain completion keeps its blanks');
  });

  it('echoes the prompt when asked', async () => {
    const body = await (await post(`${s.url}/v1/completions`, { prompt: 'a', max_tokens: 2, echo: true })).json();
    assert.equal(body.choices[0].text, 'abc');
  });

  it('rejects a prompt longer than the context, unless truncate_prompt is left', async () => {
    const long = 'a'.repeat(600);
    const res = await post(`${s.url}/v1/completions`, { prompt: long, max_tokens: 4 });
    assert.equal(res.status, 400);
    const err = (await res.json()).error;
    assert.equal(err.type, 'context_length_exceeded');
    assert.equal(err.param, 'prompt');
    assert.match(err.message, /600 tokens.*512/);
    const ok = await (await post(`${s.url}/v1/completions`, { prompt: long, max_tokens: 4, truncate_prompt: 'left' })).json();
    assert.equal(ok.usage.prompt_tokens, 508);
    assert.equal(ok.usage.completion_tokens, 4);
  });

  it('fits a long fill-in-the-middle prompt by cutting the far ends of prefix and suffix', async () => {
    const prompt = 'p'.repeat(19).concat('\n').repeat(40);
    const suffix = 's'.repeat(19).concat('\n').repeat(100); // 2,000 tokens: more than the context alone
    const res = await post(`${s.url}/v1/completions`, { prompt, suffix, max_tokens: 4 });
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error.type, 'context_length_exceeded');
    const ok = await (await post(`${s.url}/v1/completions`, { prompt, suffix, max_tokens: 4, truncate_prompt: 'left' })).json();
    assert.ok(ok.usage.prompt_tokens <= 508 && ok.usage.prompt_tokens > 508 - 60, `prompt_tokens ${ok.usage.prompt_tokens}`);
    assert.equal(ok.usage.completion_tokens, 4);
  });

  it('drops the oldest chat messages when truncating a chat', async () => {
    const messages = [
      { role: 'system', content: 'S' },
      { role: 'user', content: 'x'.repeat(400) },
      { role: 'assistant', content: 'y'.repeat(100) },
      { role: 'user', content: 'last' },
    ];
    assert.equal((await post(`${s.url}/v1/chat/completions`, { messages, max_tokens: 8 })).status, 400);
    const body = await (await post(`${s.url}/v1/chat/completions`, { messages, max_tokens: 8, truncate_prompt: 'left' })).json();
    assert.equal(body.usage.prompt_tokens, [...'<system>S<assistant>' + 'y'.repeat(100) + '<user>last<assistant>'].length);
  });

  it('caps max_tokens by the room left in the context', async () => {
    const body = await (await post(`${s.url}/v1/completions`, { prompt: 'a'.repeat(509), max_tokens: 100 })).json();
    assert.equal(body.usage.completion_tokens, 3);
    assert.equal(body.choices[0].finish_reason, 'length');
  });

  it('answers OpenAI-style errors for unsupported fields and other models', async () => {
    const cases: [unknown, number, string, string][] = [
      [{ prompt: 'a', n: 17 }, 400, 'validation', 'n'],
      [{ prompt: 'a', logprobs: 2, echo: true }, 400, 'unsupported_feature', 'logprobs'],
      [{ prompt: 'a', logprobs: 21 }, 400, 'validation', 'logprobs'],
      [{ prompt: 'a', top_logprobs: 2 }, 400, 'validation', 'top_logprobs'],
      [{ prompt: 'a', model: 'gpt-4' }, 404, 'model_not_found', 'model'],
      [{ prompt: 'a', temperature: 'hot' }, 400, 'validation', 'temperature'],
      [{ prompt: 42 }, 400, 'validation', 'prompt'],
      [{ prompt: ['a', 'b'] }, 400, 'unsupported_feature', 'prompt'],
      [{ prompt: 'a', stop: ['a', 'b', 'c', 'd', 'e'] }, 400, 'validation', 'stop'],
      [{ prompt: 'a', priority: 'urgent' }, 400, 'validation', 'priority'],
      [{ prompt: 'a', stream_options: { include_usage: true } }, 400, 'validation', 'stream_options'],
      [{ prompt: 'a', speculative: 'yes' }, 400, 'validation', 'speculative'],
      [{ prompt: 'a', prediction: 'abc' }, 400, 'validation', 'prediction'],
      [{ prompt: 'a', prediction: { type: 'text', content: 'abc' } }, 400, 'validation', 'prediction.type'],
      [{ prompt: 'a', prediction: { type: 'content', content: 5 } }, 400, 'validation', 'prediction.content'],
      [{ prompt: 'a', prediction: { type: 'content', content: [{ type: 'image', url: 'x' }] } }, 400, 'validation', 'prediction.content'],
    ];
    for (const [body, status, type, param] of cases) {
      const res = await post(`${s.url}/v1/completions`, body);
      assert.equal(res.status, status, JSON.stringify(body));
      const err = (await res.json()).error;
      assert.equal(err.type, type, JSON.stringify(body));
      assert.equal(err.param, param, JSON.stringify(body));
      assert.equal(err.code, type);
      assert.ok(err.message.length > 10);
    }
  });

  it('drafts from a prediction (speculative decoding), reports it in usage, and drafts nothing when a request opts out', async () => {
    // The test engine writes the next letter of the alphabet: a prediction of the alphabet is right.
    const prediction = { type: 'content', content: [{ type: 'text', text: 'abcdefgh' }, { type: 'text', text: 'ijklmnop' }] };
    // A fresh server first measures what its steps and drafts cost (decode-only steps, one- and
    // two-token drafts): one request does that.
    await (await post(`${s.url}/v1/completions`, { prompt: 'a', max_tokens: 16, prediction })).json();
    const on = await (await post(`${s.url}/v1/completions`, { prompt: 'a', max_tokens: 12, prediction })).json();
    assert.equal(on.choices[0].text, 'bcdefghijklm');
    // How many depends on the draft lengths chosen from this machine's step times (the scheduler's
    // step-cost tests cover that choice); every draft of a right prediction is accepted.
    assert.ok(on.usage.completion_tokens_details.accepted_prediction_tokens > 0, JSON.stringify(on.usage));
    assert.equal(on.usage.completion_tokens_details.rejected_prediction_tokens, 0);
    const off = await (await post(`${s.url}/v1/completions`, { prompt: 'a', max_tokens: 12, prediction, speculative: false })).json();
    assert.equal(off.choices[0].text, 'bcdefghijklm');
    assert.deepEqual(off.usage.completion_tokens_details, { accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 });
  });

  it('answers n choices of one prompt, each with its index, with usage over all of them', async () => {
    const full = await (await post(`${s.url}/v1/completions`, { prompt: 'a', max_tokens: 4, n: 3 })).json();
    assert.deepEqual(full.choices.map((c: { index: number; text: string }) => [c.index, c.text]), [[0, 'bcde'], [1, 'bcde'], [2, 'bcde']]);
    assert.equal(full.usage.completion_tokens, 12);
    assert.equal(full.usage.prompt_tokens, 1);
    const chat = await (await post(`${s.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'a' }], max_tokens: 3, n: 2 })).json();
    assert.deepEqual(chat.choices.map((c: { index: number }) => c.index), [0, 1]);
    assert.equal(chat.usage.completion_tokens, 6);
    // Streamed: every choice's deltas carry its index, each choice finishes, usage comes last.
    const res = await post(`${s.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'a' }], max_tokens: 3, n: 2, stream: true, stream_options: { include_usage: true } });
    const chunks = sseJson<{ choices: { index: number; delta: { content?: string }; finish_reason: string | null }[]; usage?: { completion_tokens: number } }>(await readSse(res));
    for (const i of [0, 1]) {
      const mine = chunks.flatMap((c) => c.choices.filter((ch) => ch.index === i));
      assert.equal(mine.map((ch) => ch.delta.content ?? '').join(''), chat.choices[i].message.content, `choice ${i}`);
      assert.equal(mine.filter((ch) => ch.finish_reason === 'length').length, 1, `choice ${i} finishes once`);
    }
    assert.equal(chunks.at(-1)!.usage!.completion_tokens, 6);
  });

  it('reports logprobs in chat shape: each token, its bytes and the alternatives asked for', async () => {
    // The fake engine gives every token -0.5 and alternatives token + i at -0.5 - i; a chat
    // prompt ends in '>', so the answer is 'abc'.
    const entry = (c: string, logprob: number) => ({ token: c, logprob, bytes: [c.charCodeAt(0)] });
    const expected = [...'abc'].map((c) => ({ ...entry(c, -0.5), top_logprobs: [entry(c, -0.5), entry(String.fromCharCode(c.charCodeAt(0) + 1), -1.5)] }));
    const body = { messages: [{ role: 'user', content: 'a' }], max_tokens: 3, logprobs: true, top_logprobs: 2 };
    const full = await (await post(`${s.url}/v1/chat/completions`, body)).json();
    assert.deepEqual(full.choices[0].logprobs, { content: expected, refusal: null });
    // Without top_logprobs: the tokens alone; without logprobs: null.
    const bare = await (await post(`${s.url}/v1/chat/completions`, { ...body, top_logprobs: undefined })).json();
    assert.deepEqual(bare.choices[0].logprobs.content.map((e: { top_logprobs: unknown[] }) => e.top_logprobs), [[], [], []]);
    assert.equal((await (await post(`${s.url}/v1/chat/completions`, { ...body, logprobs: false, top_logprobs: undefined })).json()).choices[0].logprobs, null);
    // Streamed, every chunk carries its own tokens' logprobs; together they are the whole answer's.
    const res = await post(`${s.url}/v1/chat/completions`, { ...body, stream: true, n: 2 });
    const chunks = sseJson<{ choices: { index: number; logprobs: { content: unknown[] } | null; finish_reason: string | null }[] }>(await readSse(res));
    for (const i of [0, 1]) {
      const mine = chunks.flatMap((c) => c.choices.filter((ch) => ch.index === i && ch.finish_reason === null));
      assert.deepEqual(mine.flatMap((ch) => ch.logprobs!.content), expected, `choice ${i}`);
    }
  });

  it('reports logprobs in the completions shape, text offsets included, streamed or not', async () => {
    const body = { prompt: 'xa', max_tokens: 4, logprobs: 2 };
    const full = await (await post(`${s.url}/v1/completions`, body)).json();
    assert.deepEqual(full.choices[0].logprobs, {
      tokens: ['b', 'c', 'd', 'e'],
      token_logprobs: [-0.5, -0.5, -0.5, -0.5],
      top_logprobs: [{ b: -0.5, c: -1.5 }, { c: -0.5, d: -1.5 }, { d: -0.5, e: -1.5 }, { e: -0.5, f: -1.5 }],
      text_offset: [0, 1, 2, 3],
    });
    const chunks = sseJson<{ choices: { logprobs: { tokens: string[]; text_offset: number[] } | null; finish_reason: string | null }[] }>(
      await readSse(await post(`${s.url}/v1/completions`, { ...body, stream: true })));
    const streamed = chunks.filter((c) => c.choices[0]?.finish_reason === null).map((c) => c.choices[0].logprobs!);
    assert.deepEqual(streamed.flatMap((l) => l.tokens), ['b', 'c', 'd', 'e']);
    assert.deepEqual(streamed.flatMap((l) => l.text_offset), [0, 1, 2, 3], 'offsets run on across chunks');
    // A token whose text a stop string holds back still gets its logprob, in a chunk of its own.
    const stopped = await (await post(`${s.url}/v1/completions`, { ...body, stop: ['de'] })).json();
    assert.equal(stopped.choices[0].text, 'bc');
    assert.deepEqual(stopped.choices[0].logprobs.tokens, ['b', 'c', 'd', 'e']);
    const streamedStop = sseJson<{ choices: { text: string; logprobs: { tokens: string[] } | null }[] }>(
      await readSse(await post(`${s.url}/v1/completions`, { ...body, stop: ['de'], stream: true })));
    assert.deepEqual(streamedStop.flatMap((c) => c.choices[0]?.logprobs?.tokens ?? []), ['b', 'c', 'd', 'e'], 'held-back tokens come before the finish');
  });

  it('puts input_extra before a FIM prompt, and refuses it without a suffix', async () => {
    const extra = [{ filename: 'a.ts', text: 'A' }, { filename: 'b.ts', text: 'B' }];
    const res = await post(`${s.url}/v1/completions`, { prompt: 'p', suffix: 's', input_extra: extra, max_tokens: 1 });
    assert.equal(res.status, 200);
    await res.json();
    assert.equal(String.fromCodePoint(...s.engine.requests.get(s.engine.added.at(-1)!)!.promptTokens), '<REPO><FILE a.ts>A<FILE b.ts>B<FILE current><PRE>p<SUF>s<MID>');
    const bad = await post(`${s.url}/v1/completions`, { prompt: 'p', input_extra: extra });
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).error.param, 'input_extra');
  });

  it('takes the priority class from the header, and rejects a bad one', async () => {
    assert.equal((await post(`${s.url}/v1/completions`, { prompt: 'a', max_tokens: 1 }, { 'x-mlx-batch-priority': 'interactive' })).status, 200);
    const res = await post(`${s.url}/v1/completions`, { prompt: 'a', max_tokens: 1 }, { 'x-mlx-batch-priority': 'now' });
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error.param, 'x-mlx-batch-priority');
  });

  it('lets the priority header win over the body field', async () => {
    // One row: a long request holds it, then three wait. With the header winning, the request
    // whose body says "interactive" but whose header says "background" waits behind "normal".
    const one = await startTestServer({ runner: { maxBatch: 1 }, engine: { stepMs: 2 } });
    try {
      const order: string[] = [];
      const send = (name: string, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
        post(`${one.url}/v1/completions`, { prompt: 'a', max_tokens: 2, ...body }, headers).then(async (r) => {
          assert.equal(r.status, 200, name);
          await r.json();
          order.push(name);
        });
      const holder = send('holder', { max_tokens: 300 });
      await waitFor(() => one.runner.stats().running === 1);
      // Queued one at a time, so arrival order is known.
      const rest: Promise<void>[] = [];
      const queue = async (name: string, body: Record<string, unknown>, headers?: Record<string, string>) => {
        rest.push(send(name, body, headers));
        await waitFor(() => one.runner.stats().waiting === rest.length);
      };
      await queue('header-background', { priority: 'interactive' }, { 'x-mlx-batch-priority': 'background' });
      await queue('normal', {});
      await queue('field-background', { priority: 'background' });
      assert.equal(one.runner.stats().running, 1, 'the holder still runs while the others wait');
      await Promise.all([holder, ...rest]);
      assert.deepEqual(order, ['holder', 'normal', 'header-background', 'field-background']);
    } finally {
      await one.close();
    }
  });

  it('takes max_completion_tokens as max_tokens in chat', async () => {
    const res = await post(`${s.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'hi' }], max_completion_tokens: 3 });
    const body = await res.json();
    assert.equal(body.usage.completion_tokens, 3);
    assert.equal(body.choices[0].finish_reason, 'length');
  });

  it('lists the model and reports health', async () => {
    const models = await (await fetch(`${s.url}/v1/models`)).json();
    assert.deepEqual(models, { object: 'list', data: [{ id: 'test-model', object: 'model', created: 1_700_000_000, owned_by: 'mlx-batch', context_length: 512 }] });
    const health = await fetch(`${s.url}/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ready', model: 'test-model' });
  });

  it('switches batching off and on', async () => {
    assert.deepEqual(await (await fetch(`${s.url}/v1/batching`)).json(), { enabled: true, max_batch: 8 });
    const off = await post(`${s.url}/v1/batching`, { enabled: false });
    try {
      assert.deepEqual(await off.json(), { enabled: false, max_batch: 1 }, 'one request at a time while off');
      assert.equal(s.runner.batching, false);
      assert.equal((await post(`${s.url}/v1/batching`, { enabled: 'yes' })).status, 400);
    } finally {
      assert.deepEqual(await (await post(`${s.url}/v1/batching`, { enabled: true })).json(), { enabled: true, max_batch: 8 });
    }
    assert.equal(s.runner.batching, true);
  });

  it('serves Prometheus metrics, each count exact on a known workload', async () => {
    // A server of its own, so the counts are this workload's only.
    const m = await startTestServer();
    try {
      for (let i = 0; i < 3; i++) assert.equal((await post(`${m.url}/v1/completions`, { prompt: 'a', max_tokens: 4 })).status, 200);
      const chat = await post(`${m.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'hi' }], max_tokens: 2, stream: true });
      assert.equal(chat.status, 200);
      assert.equal((await readSse(chat)).at(-1), '[DONE]');
      assert.equal((await post(`${m.url}/v1/completions`, { prompt: 'a', temperature: 'hot' })).status, 400);
      assert.equal((await post(`${m.url}/v1/completions`, { prompt: 'a', top_p: 0 })).status, 400);
      assert.equal((await post(`${m.url}/v1/completions`, { prompt: 'a', model: 'other' })).status, 404);
      const res = await fetch(`${m.url}/metrics`);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      const page = await res.text();
      const want: [string, number][] = [
        ['mlx_batch_generated_tokens_total', 3 * 4 + 2],
        // 'a' is one token; the chat prompt is '<user>hi<assistant>', 19.
        ['mlx_batch_prompt_tokens_total', 3 * 1 + 19],
        ['mlx_batch_requests_running', 0],
        ['mlx_batch_requests_waiting', 0],
        ['mlx_batch_requests_finished_total{reason="length"}', 4],
        ['mlx_batch_time_to_first_token_seconds_count', 4],
        // One request at a time: a step per token, one row each.
        ['mlx_batch_steps_total', 14],
        ['mlx_batch_batch_size_count', 14],
        ['mlx_batch_batch_size_sum', 14],
        ['mlx_batch_batch_size_bucket{le="1"}', 14],
        ['mlx_batch_errors_total{type="validation"}', 2],
        ['mlx_batch_errors_total{type="model_not_found"}', 1],
        ['mlx_batch_http_requests_total{route="/v1/completions",code="200"}', 3],
        ['mlx_batch_http_requests_total{route="/v1/completions",code="400"}', 2],
        ['mlx_batch_http_requests_total{route="/v1/completions",code="404"}', 1],
        ['mlx_batch_http_requests_total{route="/v1/chat/completions",code="200"}', 1],
        ['mlx_batch_request_duration_seconds_count', 4],
        ['mlx_batch_client_disconnects_total', 0],
      ];
      assert.deepEqual(want.map(([sample]) => [sample, metric(page, sample)]), want);
      for (const line of page.split('\n').filter((l) => l && !l.startsWith('#'))) {
        assert.match(line, /^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [-+0-9.eInfNa]+$/, line);
      }
    } finally {
      await m.close();
    }
  });

  it('streams live stats', async () => {
    const abort = new AbortController();
    const res = await fetch(`${s.url}/v1/stats/stream`, { signal: abort.signal });
    const reader = res.body!.getReader();
    let text = '';
    while ((text.match(/\n\n/g) ?? []).length < 2) text += new TextDecoder().decode((await reader.read()).value);
    abort.abort();
    const first = JSON.parse(text.split('\n\n')[0].slice(6));
    assert.deepEqual(Object.keys(first).sort(), ['batching', 'draft_accepted', 'draft_tokens', 'max_batch', 'memory_mb', 'requests_total', 'running', 'speculative', 'tokens_per_second', 'waiting']);
    assert.equal(first.max_batch, 8);
  });
});
