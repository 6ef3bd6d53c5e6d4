// Security, limits, cancellation, ordering under load, queue limit, failures and lifecycle
// states of the HTTP server, over the real runner with a deterministic engine.
import assert from 'node:assert/strict';
import http from 'node:http';
import { ServerState } from '../../src/server/http/context';
import type { RunnerService } from '../../src/server/http/runner-service';
import { nextLetter } from './helpers/char-tokenizer';
import { metric, post, readSse, sseJson, startTestServer, waitFor, type TestServer } from './helpers/harness';

const TOKEN = 'test-token-0123456789abcdef';

/** A raw request, so tests control every header (fetch fixes Host and some others). */
function raw(url: string, opts: { method?: string; path: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method: opts.method ?? 'GET', path: opts.path, headers: opts.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('server: security', () => {
  let s: TestServer;
  before(async () => { s = await startTestServer({ server: { token: TOKEN } }); });
  after(async () => { await s.close(); });

  it('requires the bearer token on every route', async () => {
    for (const path of ['/health', '/metrics', '/v1/models', '/v1/batching', '/no/such/route']) {
      const res = await fetch(`${s.url}${path}`);
      assert.equal(res.status, 401, path);
      assert.equal((await res.json()).error.type, 'authentication');
      assert.equal((await fetch(`${s.url}${path}`, { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status, 401, path);
    }
    const ok = await fetch(`${s.url}/health`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(ok.status, 200);
    const res = await post(`${s.url}/v1/completions`, { prompt: 'a', max_tokens: 1 }, { authorization: `bearer ${TOKEN}` });
    assert.equal(res.status, 200);
  });

  it('answers 401 with WWW-Authenticate: Bearer, and only then', async () => {
    const refused = await fetch(`${s.url}/v1/models`);
    assert.equal(refused.headers.get('www-authenticate'), 'Bearer');
    const ok = await fetch(`${s.url}/v1/models`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(ok.headers.get('www-authenticate'), null);
  });

  it('sends no CORS headers and refuses preflight requests', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const pre = await raw(s.url, { method: 'OPTIONS', path: '/v1/completions', headers: { ...auth, origin: 'http://evil.example', 'access-control-request-method': 'POST' } });
    assert.equal(pre.status, 405);
    const get = await raw(s.url, { path: '/v1/models', headers: { ...auth, origin: 'http://evil.example' } });
    assert.equal(get.status, 200);
    for (const r of [pre, get]) assert.ok(!Object.keys(r.headers).some((h) => h.startsWith('access-control-')), JSON.stringify(r.headers));
  });

  it('refuses a text/plain body (a form or no-preflight browser request)', async () => {
    const res = await fetch(`${s.url}/v1/completions`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'text/plain' }, body: '{"prompt":"a"}' });
    assert.equal(res.status, 400);
  });

  it('refuses a foreign Host header on a loopback bind (DNS rebinding)', async () => {
    const res = await raw(s.url, { path: '/health', headers: { host: 'evil.example:80', authorization: `Bearer ${TOKEN}` } });
    assert.equal(res.status, 403);
    assert.equal(JSON.parse(res.body).error.type, 'forbidden');
    const port = new URL(s.url).port;
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`]) {
      const ok = await raw(s.url, { path: '/health', headers: { host, authorization: `Bearer ${TOKEN}` } });
      assert.equal(ok.status, 200, host);
    }
    // The loopback names on another port are someone else's page.
    const other = await raw(s.url, { path: '/health', headers: { host: `[::1]:${Number(port) + 1}`, authorization: `Bearer ${TOKEN}` } });
    assert.equal(other.status, 403);
  });

  it('limits the body size with 413', async () => {
    const big = JSON.stringify({ prompt: 'a'.repeat(70 * 1024) });
    const res = await post(`${s.url}/v1/completions`, big, { authorization: `Bearer ${TOKEN}` });
    assert.equal(res.status, 413);
    assert.equal((await res.json()).error.type, 'payload_too_large');
    // Without a content-length (chunked), the limit still holds.
    const chunked = await raw(s.url, { method: 'POST', path: '/v1/completions', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, body: big });
    assert.equal(chunked.status, 413);
    assert.equal((await fetch(`${s.url}/health`, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200);
  });
});

describe('server: cancellation', () => {
  let s: TestServer;
  before(async () => { s = await startTestServer({ engine: { stepMs: 5 } }); });
  after(async () => { await s.close(); });

  it('frees the row of a stream the client aborts', async () => {
    const abort = new AbortController();
    const res = await post(`${s.url}/v1/completions`, { prompt: 'a', max_tokens: 400, stream: true }, {}, abort.signal);
    const reader = res.body!.getReader();
    let text = '';
    while ((text.match(/\n\n/g) ?? []).length < 3) text += new TextDecoder().decode((await reader.read()).value);
    assert.equal(s.runner.stats().running, 1);
    abort.abort();
    await waitFor(async () => metric(await (await fetch(`${s.url}/metrics`)).text(), 'mlx_batch_requests_running') === 0);
    // The row is released at the next step boundary (the engine may be mid-step at the abort).
    await waitFor(() => s.engine.rows.size === 0, 2000);
    const page = await (await fetch(`${s.url}/metrics`)).text();
    assert.equal(metric(page, 'mlx_batch_requests_finished_total{reason="abort"}'), 1);
    assert.equal(metric(page, 'mlx_batch_client_disconnects_total'), 1);
    assert.ok(metric(page, 'mlx_batch_generated_tokens_total') < 400, 'generation stopped early');
    assert.equal(s.engine.rows.size, 0, 'the engine released the row');
    assert.equal(s.engine.released.length, s.engine.added.length);
  });

  it('cancels a non-streaming request whose client goes away', async () => {
    const abort = new AbortController();
    const pending = post(`${s.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'x' }], max_tokens: 400 }, {}, abort.signal);
    await waitFor(() => s.runner.stats().running === 1);
    abort.abort();
    await assert.rejects(pending);
    await waitFor(() => s.runner.stats().running === 0 && s.engine.rows.size === 0);
    const body = await (await post(`${s.url}/v1/completions`, { prompt: 'a', max_tokens: 2 })).json();
    assert.equal(body.choices[0].text, 'bc', 'the server still serves');
  });
});

describe('server: load and queue limit', () => {
  it('completes 64 concurrent streams with max batch 8 in priority and arrival order, none lost or duplicated', async () => {
    const s = await startTestServer({ engine: { stepMs: 4 }, runner: { maxBatch: 8, agingMs: 0 } });
    try {
      const priorities = ['background', 'normal', 'interactive'] as const;
      const starts = 'abcdefghijklmnopqrstuvwxyz';
      const streams: { id: string; priority: string; index: number; expected: string; result: Promise<{ text: string; frames: string[] }> }[] = [];
      const send = (index: number, priority: string, maxTokens: number) => {
        const start = starts[index % 26];
        let expected = '';
        let last = start.codePointAt(0)!;
        for (let i = 0; i < maxTokens; i++) expected += String.fromCodePoint((last = nextLetter(last)));
        const result = post(`${s.url}/v1/completions`, { prompt: `${index}:${start}`, max_tokens: maxTokens, stream: true }, { 'x-mlx-batch-priority': priority })
          .then(async (res) => {
            const id = res.headers.get('x-request-id')!;
            streams[index].id = id;
            const frames = await readSse(res);
            return { text: sseJson(frames).map((c) => c.choices[0]?.text ?? '').join(''), frames };
          });
        streams[index] = { id: '', priority, index, expected, result };
      };
      // Fill the batch with 8 long streams, then queue 56 with mixed priorities, one after another.
      for (let i = 0; i < 8; i++) send(i, 'normal', 300);
      await waitFor(() => s.runner.stats().running === 8);
      for (let i = 8; i < 64; i++) {
        send(i, priorities[i % 3], 6);
        await waitFor(() => s.runner.stats().waiting === i - 7);
      }
      const results = await Promise.all(streams.map((st) => st.result));
      results.forEach((r, i) => {
        assert.equal(r.text, streams[i].expected, `stream ${i}`);
        assert.equal(r.frames.at(-1), '[DONE]');
        assert.equal(r.frames.filter((f) => f === '[DONE]').length, 1);
      });
      const rank = { interactive: 0, normal: 1, background: 2 } as Record<string, number>;
      const expectedOrder = streams.slice(8).sort((a, b) => rank[a.priority] - rank[b.priority] || a.index - b.index).map((st) => st.id);
      const admitted = s.engine.added.filter((id) => !streams.slice(0, 8).some((st) => st.id === id));
      assert.deepEqual(admitted, expectedOrder);
      assert.equal(new Set(s.engine.added).size, 64, 'each request admitted once');
      assert.ok(Math.max(...s.engine.occupancy) <= 8);
    } finally {
      await s.close();
    }
  });

  it('answers 429 with Retry-After past the queue limit', async () => {
    const s = await startTestServer({ engine: { stepMs: 10 }, runner: { maxBatch: 1, maxWaiting: 2 } });
    try {
      const aborts = [0, 1, 2].map(() => new AbortController());
      const held = aborts.map((a) => post(`${s.url}/v1/completions`, { prompt: 'a', max_tokens: 300, stream: true }, {}, a.signal).catch(() => undefined));
      await waitFor(() => s.runner.stats().running === 1 && s.runner.stats().waiting === 2);
      const res = await post(`${s.url}/v1/completions`, { prompt: 'a', max_tokens: 3, stream: true });
      assert.equal(res.status, 429);
      assert.equal(res.headers.get('retry-after'), '1');
      assert.equal((await res.json()).error.type, 'overloaded');
      for (const a of aborts) a.abort();
      await Promise.all(held);
      await waitFor(() => s.runner.stats().running === 0 && s.runner.stats().waiting === 0);
      assert.equal((await post(`${s.url}/v1/completions`, { prompt: 'a', max_tokens: 2 })).status, 200);
    } finally {
      await s.close();
    }
  });
});

describe('server: failures and states', () => {
  let s: TestServer;
  before(async () => { s = await startTestServer(); });
  after(async () => { await s.close(); });

  it('answers an unexpected handler error with 500 naming the request id, and keeps serving', async () => {
    const service = s.state.service as RunnerService;
    const original = service.completionPrompt;
    service.completionPrompt = () => { throw new TypeError('boom in the tokenizer'); };
    try {
      const res = await post(`${s.url}/v1/completions`, { prompt: 'a' });
      assert.equal(res.status, 500);
      const id = res.headers.get('x-request-id')!;
      const err = (await res.json()).error;
      assert.equal(err.type, 'internal');
      assert.ok(err.message.includes(id));
      assert.ok(!err.message.includes('boom'), 'internals are logged, not sent');
      assert.ok(s.logs.some((l) => l.startsWith(`error [${id}]`) && l.includes('boom in the tokenizer')));
    } finally {
      service.completionPrompt = original;
    }
    assert.equal((await post(`${s.url}/v1/completions`, { prompt: 'a', max_tokens: 1 })).status, 200);
  });

  it('reports an engine failure mid-stream as an error event', async () => {
    const f = await startTestServer({ engine: { failWhen: (_p, i) => i === 3 } });
    try {
      const res = await post(`${f.url}/v1/completions`, { prompt: 'a', max_tokens: 20, stream: true });
      const frames = await readSse(res);
      assert.notEqual(frames.at(-1), '[DONE]');
      assert.equal(JSON.parse(frames.at(-1)!).error.type, 'internal');
      const plain = await post(`${f.url}/v1/completions`, { prompt: 'a', max_tokens: 2 });
      assert.equal(plain.status, 200);
    } finally {
      await f.close();
    }
  });

  it('answers 404 and 405 for unknown routes and methods', async () => {
    const a = await fetch(`${s.url}/v1/engines`);
    assert.equal(a.status, 404);
    assert.equal((await a.json()).error.type, 'not_found');
    const b = await fetch(`${s.url}/v1/completions`);
    assert.equal(b.status, 405);
    assert.equal(b.headers.get('allow'), 'POST');
  });

  it('answers 503 while loading and while draining', async () => {
    const loading = new ServerState('m');
    loading.progress = 0.4;
    const real = s.state;
    try {
      (s.api as unknown as { state: ServerState }).state = loading;
      const h = await fetch(`${s.url}/health`);
      assert.equal(h.status, 503);
      assert.deepEqual(await h.json(), { status: 'loading', model: null, progress: 0.4 });
      const r = await post(`${s.url}/v1/completions`, { prompt: 'a' });
      assert.equal(r.status, 503);
      assert.ok(r.headers.get('retry-after'));
      assert.match((await r.json()).error.message, /loading \(40%\)/);
      real.status = 'draining';
      (s.api as unknown as { state: ServerState }).state = real;
      assert.equal((await fetch(`${s.url}/health`)).status, 503);
      assert.equal((await post(`${s.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'x' }] })).status, 503);
      assert.equal((await fetch(`${s.url}/metrics`)).status, 200, 'metrics stay readable');
    } finally {
      real.status = 'ready';
      (s.api as unknown as { state: ServerState }).state = real;
    }
  });

  it('streams a benchmark: progress, then the report, one at a time; the speed-up is the step ratio', async () => {
    // A fake engine whose step costs 25 ms whatever its size: 2 requests of 4 tokens take 8 steps
    // one at a time and 4 steps batched, so the speed-up at concurrency 2 is 2.
    const b = await startTestServer({ engine: { stepMs: 25 } });
    try {
      const res = await post(`${b.url}/v1/benchmark`, { concurrency: [2], max_tokens: 4, prompts: ['short'] });
      assert.equal(res.status, 200);
      const second = await post(`${b.url}/v1/benchmark`, { concurrency: [2], max_tokens: 4 });
      assert.equal(second.status, 429);
      await second.body?.cancel();
      const frames = await readSse(res);
      assert.equal(frames.at(-1), '[DONE]');
      const events = sseJson(frames);
      assert.ok(events.some((e) => e.type === 'progress' && e.mode === 'batched' && e.concurrency === 2));
      const result = events.at(-1);
      assert.equal(result.type, 'result');
      assert.deepEqual(result.report.results.map((r: { mode: string }) => r.mode), ['sequential', 'batched']);
      const speedup = result.report.speedup['2'] as number;
      assert.ok(speedup > 1.7 && speedup < 2.2, `speed-up ${speedup} at concurrency 2 (8 steps against 4)`);
      assert.equal((await post(`${b.url}/v1/benchmark`, { concurrency: [0] })).status, 400);
    } finally {
      await b.close();
    }
  });

});
