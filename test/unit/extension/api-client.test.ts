import assert from 'node:assert/strict';
import { ApiClient } from '../../../src/extension/client/api-client';
import { ApiError, isAbort } from '../../../src/extension/client/api-error';
import { waitFor } from '../../helpers/wait-for';
import { FakeServer, completionChunk, sleep, sse } from './helpers/fake-openai-server';

describe('extension API client', () => {
  let server: FakeServer;
  afterEach(async () => server?.stop());

  it('streams completions with the bearer key and priority header, ending at [DONE]', async () => {
    server = await new FakeServer({
      'POST /v1/completions': (_req, res) => {
        const send = sse(res);
        send(completionChunk('hel'));
        send(completionChunk('lo', 'stop'));
        send('[DONE]');
        res.end();
      },
    }).start();
    const client = new ApiClient({ baseUrl: `${server.url}/`, apiKey: 'k123' });
    let text = '';
    for await (const c of client.streamCompletion({ prompt: 'p', suffix: 's', max_tokens: 4 }, { priority: 'interactive' })) text += c.choices[0].text;
    assert.equal(text, 'hello');
    const r = server.requests[0];
    assert.equal(r.headers.authorization, 'Bearer k123');
    assert.equal(r.headers['x-mlx-batch-priority'], 'interactive');
    assert.deepEqual(r.body, { prompt: 'p', suffix: 's', max_tokens: 4, stream: true });
  });

  it('maps error bodies, 401 and unreachable servers to clear messages', async () => {
    server = await new FakeServer({
      'POST /v1/batching': (_req, res) => {
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: '"enabled" must be true or false', type: 'validation', param: 'enabled', code: null } }));
      },
      'GET /v1/models': (_req, res) => { res.writeHead(401).end('{"error":{"message":"bad key","type":"authentication"}}'); },
    }).start();
    const client = new ApiClient({ baseUrl: server.url });
    await assert.rejects(client.setBatching(true), (e: unknown) => e instanceof ApiError && e.status === 400 && e.param === 'enabled' && /must be true or false/.test(e.message));
    await assert.rejects(client.models(), (e: unknown) => e instanceof ApiError && e.type === 'authentication' && /Set Remote API Key/.test(e.message));
    await assert.rejects(client.getBatching(), (e: unknown) => e instanceof ApiError && e.status === 404);
    const url = server.url;
    await server.stop();
    await assert.rejects(new ApiClient({ baseUrl: url }).health(), (e: unknown) => e instanceof ApiError && e.type === 'network' && e.message.includes(url));
    server = await new FakeServer({}).start();
  });

  it('reads /health while loading (503 with a body) and from servers that answer an empty 200', async () => {
    let loading = true;
    server = await new FakeServer({
      'GET /health': (_req, res) => {
        if (loading) res.writeHead(503, { 'content-type': 'application/json' }).end('{"status":"loading","model":null,"progress":0.5}');
        else res.writeHead(200).end();
      },
    }).start();
    const client = new ApiClient({ baseUrl: server.url });
    assert.deepEqual(await client.health(), { status: 'loading', model: null, progress: 0.5 });
    loading = false;
    assert.deepEqual(await client.health(), { status: 'ready', model: null });
  });

  it('aborting a stream closes the connection on the server side', async () => {
    server = await new FakeServer({
      'GET /v1/stats/stream': async (_req, res) => {
        const send = sse(res);
        // A stream with no end: only the client can close it.
        for (let i = 0; !res.destroyed; i++) {
          send({ running: i, waiting: 0, max_batch: 8, batching: true, tokens_per_second: 1, memory_mb: 1, requests_total: i });
          await sleep(10);
        }
      },
    }).start();
    const client = new ApiClient({ baseUrl: server.url });
    const ac = new AbortController();
    const seen: number[] = [];
    await assert.rejects(async () => {
      for await (const s of client.stats(ac.signal)) {
        seen.push(s.running);
        if (seen.length === 3) ac.abort();
      }
    }, (e: unknown) => isAbort(e));
    assert.deepEqual(seen, [0, 1, 2]);
    await waitFor(() => server.closedEarly === 1, 'the server to see the stream closed before its end');
  });

  it('raises an error event sent in the middle of a stream', async () => {
    server = await new FakeServer({
      'POST /v1/chat/completions': (_req, res) => {
        const send = sse(res);
        send({ id: 'c', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta: { content: 'Hi' }, finish_reason: null, logprobs: null }] });
        send({ error: { message: 'out of memory', type: 'internal' } });
        res.end();
      },
    }).start();
    const client = new ApiClient({ baseUrl: server.url });
    const got: string[] = [];
    await assert.rejects(async () => {
      for await (const c of client.streamChat({ messages: [{ role: 'user', content: 'x' }] })) got.push(c.choices[0]?.delta.content ?? '');
    }, /out of memory/);
    assert.deepEqual(got, ['Hi']);
    assert.deepEqual(server.requests[0].body.stream_options, { include_usage: true });
  });

  it('posts /infill whole, and streams it until the event with stop: true', async () => {
    server = await new FakeServer({
      'POST /infill': (req, res) => {
        if (!req.body.stream) {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ content: '', stop: true, tokens_evaluated: 12 }));
          return;
        }
        const send = sse(res);
        send({ content: 'hel', stop: false });
        send({ content: 'lo', stop: false });
        send({ content: '', stop: true, stop_type: 'eos' });
        // llama.cpp sends no [DONE]; the client must not wait for the connection to end.
      },
    }).start();
    const client = new ApiClient({ baseUrl: server.url });
    const whole = await client.infill({ input_prefix: '', n_predict: 0 }, { priority: 'background' });
    assert.equal(whole.tokens_evaluated, 12);
    assert.deepEqual(server.requests[0].body, { input_prefix: '', n_predict: 0 });
    assert.equal(server.requests[0].headers['x-mlx-batch-priority'], 'background');
    let text = '';
    for await (const ev of client.streamInfill({ input_prefix: 'a', prompt: 'b' })) text += ev.content;
    assert.equal(text, 'hello');
    assert.equal(server.requests[1].body.stream, true);
  });
});
