import assert from 'node:assert/strict';
import type http from 'node:http';
import { ApiClient } from '../../../src/extension/client/api-client';
import { ContextRing } from '../../../src/extension/completion/context-ring';
import { ContextWarmup, type WarmupOptions } from '../../../src/extension/completion/context-warmup';
import type { ExtraContextChunk } from '../../../src/shared/protocol';
import { waitFor } from '../../helpers/wait-for';
import { FakeServer } from './helpers/fake-openai-server';

function chunk(tag: string): ExtraContextChunk {
  return { filename: `${tag}.ts`, text: Array.from({ length: 6 }, (_, i) => `${tag}(${i});`).join('\n') + '\n' };
}

/** An /infill answer of llama.cpp's shape for a prompt-only request. */
const warmed = JSON.stringify({ content: '', stop: true, stop_type: 'limit', model: 'm', tokens_predicted: 0, tokens_evaluated: 40, tokens_cached: 0, truncated: false });

/** A warm-up over `ring` at the clock `clock.now`, against `server`. */
function warmup(server: FakeServer, ring: ContextRing, over: Partial<WarmupOptions> = {}) {
  const clock = { now: 10_000, lastQueryAt: 0 };
  const logs: string[] = [];
  const w = new ContextWarmup({
    ring,
    client: async () => new ApiClient({ baseUrl: server.url }),
    options: () => ({ enabled: true, refreshMs: 1000, maxChars: 10_000, ...over }),
    lastQueryAt: () => clock.lastQueryAt,
    now: () => clock.now,
    log: (m) => logs.push(m),
  });
  return { w, clock, logs };
}

describe('extension context warm-up', () => {
  let server: FakeServer;
  afterEach(async () => server?.stop());

  const answering = () => new FakeServer({ 'POST /infill': (_req, res) => { res.writeHead(200, { 'content-type': 'application/json' }).end(warmed); } }).start();

  it('sends the new ring as a prompt-only /infill at background priority, once per change', async () => {
    server = await answering();
    const ring = new ContextRing(4);
    const { w } = warmup(server, ring);
    ring.add(chunk('a'));
    ring.add(chunk('b'));
    await w.tick();
    assert.equal(server.requests.length, 1);
    const r = server.requests[0];
    assert.equal(r.path, '/infill');
    assert.equal(r.headers['x-mlx-batch-priority'], 'background');
    assert.deepEqual(r.body, {
      input_prefix: '', input_suffix: '', input_extra: [chunk('a'), chunk('b')], prompt: '',
      n_predict: 0, samplers: [], cache_prompt: true, t_max_predict_ms: 1,
    });
    await w.tick();
    assert.equal(server.requests.length, 1, 'an unchanged ring is not sent again');
    ring.add(chunk('c'));
    await w.tick();
    assert.equal(server.requests.length, 2);
    assert.deepEqual(server.requests[1].body.input_extra, [chunk('a'), chunk('b'), chunk('c')]);
  });

  it('sends what a completion would start with: the newest chunks within maxChars', async () => {
    server = await answering();
    const ring = new ContextRing(4);
    const { w } = warmup(server, ring, { maxChars: chunk('a').text.length + 1 });
    ring.add(chunk('a'));
    ring.add(chunk('b'));
    await w.tick();
    assert.deepEqual(server.requests[0].body.input_extra, [chunk('b')]);
  });

  it('leaves the ring and the server alone while completions are being asked for', async () => {
    server = await answering();
    const ring = new ContextRing(4);
    const { w, clock } = warmup(server, ring);
    ring.add(chunk('a'));
    clock.lastQueryAt = clock.now - 999;
    await w.tick();
    assert.equal(server.requests.length, 0);
    assert.deepEqual(ring.chunks(), [], 'the queued chunk waits for a pause');
    clock.now += 1;
    await w.tick();
    assert.equal(server.requests.length, 1, 'a refresh interval without a completion');
    assert.deepEqual(ring.chunks(), [chunk('a')]);
  });

  it('sends nothing to a backend that takes no chunks', async () => {
    server = await answering();
    const ring = new ContextRing(4);
    const { w } = warmup(server, ring, { enabled: false });
    ring.add(chunk('a'));
    await w.tick();
    assert.equal(server.requests.length, 0);
  });

  it('aborts a warm-up still running when the ring changes again', async () => {
    const open: http.ServerResponse[] = [];
    server = await new FakeServer({ 'POST /infill': (_req, res) => { open.push(res); } }).start();
    const ring = new ContextRing(4);
    const { w, logs } = warmup(server, ring);
    ring.add(chunk('a'));
    const first = w.tick();
    await waitFor(() => open.length === 1, 'the first warm-up to reach the server');
    ring.add(chunk('b'));
    const second = w.tick();
    await waitFor(() => server.closedEarly === 1, 'the first warm-up to be aborted', { state: () => ({ requests: server.requests.length }) });
    await first;
    await waitFor(() => open.length === 2, 'the second warm-up to reach the server');
    open[1].writeHead(200, { 'content-type': 'application/json' }).end(warmed);
    await second;
    assert.deepEqual(logs, [], 'an abort is not an error');
  });

  it('logs a failure and never throws it', async () => {
    server = await new FakeServer({}).start();
    const ring = new ContextRing(4);
    const { w, logs } = warmup(server, ring);
    ring.add(chunk('a'));
    await w.tick();
    assert.equal(logs.length, 1);
    assert.match(logs[0], /context warm-up failed: .*404/);
  });
});
