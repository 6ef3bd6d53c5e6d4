import assert from 'node:assert/strict';
import type http from 'node:http';
import { ApiClient } from '../../../src/extension/client/api-client';
import { CompletionPipeline, type CompletionQuery } from '../../../src/extension/completion/completion-pipeline';
import { waitFor } from '../../helpers/wait-for';
import { FakeServer, completionChunk, sleep, sse } from './helpers/fake-openai-server';

/** In a token list: the stream stops here until the test calls `release()` or the client closes it. */
const HOLD = Symbol('hold');

/** A completion server for `tokens`, one every `delayMs`; `noSuffix`: it refuses suffix. */
function completionServer(tokens: (string | typeof HOLD)[], delayMs: number, noSuffix = false) {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const closed = (res: http.ServerResponse) => new Promise<void>((r) => res.once('close', r));
  const server = new FakeServer({
    'POST /v1/completions': async (req, res) => {
      if (noSuffix && req.body.suffix !== undefined) {
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'suffix is not currently supported', type: 'BadRequestError' } }));
        return;
      }
      const send = sse(res);
      for (const t of tokens) {
        if (res.destroyed) return;
        if (t === HOLD) {
          await Promise.race([released, closed(res)]);
          continue;
        }
        send(completionChunk(t));
        await sleep(delayMs);
      }
      if (res.destroyed) return;
      send('[DONE]');
      res.end();
    },
  });
  return server.start().then((s) => Object.assign(s, { release }));
}

/** The real client, counting the chunks the pipeline has taken from its streams. */
class CountingClient extends ApiClient {
  taken = 0;

  override async *streamCompletion(...args: Parameters<ApiClient['streamCompletion']>): ReturnType<ApiClient['streamCompletion']> {
    for await (const chunk of super.streamCompletion(...args)) {
      yield chunk;
      this.taken += 1;
    }
  }
}

function query(prefix: string, over: Partial<CompletionQuery> = {}): CompletionQuery {
  const lineBefore = prefix.slice(prefix.lastIndexOf('\n') + 1);
  return { prefix, suffix: '\n', lineBefore, lineAfter: '', manual: false, signal: new AbortController().signal, ...over };
}

function pipeline(server: FakeServer, debounceMs = 20, truncatePrompt?: boolean) {
  const logs: string[] = [];
  const client = new CountingClient({ baseUrl: server.url });
  const p = new CompletionPipeline({
    client: async () => client,
    options: () => ({ debounceMs, maxTokens: 16, temperature: 0, ...(truncatePrompt === undefined ? {} : { truncatePrompt }) }),
    log: (m) => logs.push(m),
  });
  return { p, logs, client };
}

describe('extension completion pipeline', () => {
  let server: FakeServer & { release(): void };
  afterEach(async () => server?.stop());

  it('sends one interactive FIM request and cuts a single-line answer at the newline', async () => {
    server = await completionServer(['compute', '(1);', '\nnext'], 5);
    const { p } = pipeline(server);
    const a = await p.complete(query('const x = '));
    assert.deepEqual(a, { text: 'compute(1);', source: 'request' });
    const body = server.requests[0].body;
    assert.equal(body.prompt, 'const x = ');
    assert.equal(body.suffix, '\n');
    assert.deepEqual(body.stop, ['\n']);
    assert.equal(server.requests[0].headers['x-mlx-batch-priority'], 'interactive');
  });

  it('asks the local server to fit long context (truncate_prompt), and no other server', async () => {
    server = await completionServer(['x'], 1);
    await pipeline(server, 0, true).p.complete(query('const a = '));
    assert.equal(server.requests[0].body.truncate_prompt, 'left');
    await pipeline(server, 0, false).p.complete(query('const b = '));
    assert.equal('truncate_prompt' in server.requests[1].body, false);
  });

  it('answers typed-ahead text from the cache with no new request', async () => {
    server = await completionServer(['compute(1);'], 1);
    const { p } = pipeline(server);
    await p.complete(query('const x = '));
    const b = await p.complete(query('const x = comp'));
    assert.deepEqual(b, { text: 'ute(1);', source: 'cache' });
    assert.equal(server.requests.length, 1);
  });

  it('reuses the in-flight request when the user types what it is predicting', async () => {
    server = await completionServer(['comp', HOLD, 'ute', '(1);'], 1);
    const { p, client } = pipeline(server, 10);
    const ac = new AbortController();
    const first = p.complete(query('const x = ', { signal: ac.signal }));
    await waitFor(() => client.taken === 1, 'the first token to reach the pipeline');
    ac.abort(); // the editor cancels the first request on the next keystroke
    assert.equal(await first, undefined);
    const second = p.complete(query('const x = co'));
    server.release();
    assert.deepEqual(await second, { text: 'mpute(1);', source: 'inflight' });
    assert.equal(server.requests.length, 1);
  });

  it('latest wins: a query that disagrees aborts the stale request so the server frees it', async () => {
    // The first caller still waits, so only the disagreeing query can end its request (no
    // grace period after the last waiter leaves is running).
    server = await completionServer(['a', HOLD, 'b', 'c', 'd', 'e', 'f', 'g', 'h'], 1);
    const { p, client } = pipeline(server, 10);
    const first = p.complete(query('let y = '));
    await waitFor(() => client.taken === 1, 'the first token to reach the pipeline');
    const second = p.complete(query('let y = zz'));
    await waitFor(() => server.closedEarly === 1, 'the stale request to be closed', { state: () => ({ requests: server.requests.length, closedEarly: server.closedEarly }) });
    assert.equal(await first, undefined, 'the superseded query gets nothing');
    server.release();
    assert.deepEqual(await second, { text: 'abcdefgh', source: 'request' });
    assert.equal(server.requests.length, 2);
  });

  it('stops generating at the end of the block and aborts the request', async () => {
    server = await completionServer(['\n  return 1;\n', '}\n', HOLD, 'function g() {\n', 'never'], 1);
    const { p } = pipeline(server);
    const answer = p.complete(query('function f() {', { manual: true }));
    // The stream holds after the closing brace: only the client can end it.
    await waitFor(() => server.closedEarly === 1, 'the request to be closed at the end of the block');
    assert.deepEqual(await answer, { text: '\n  return 1;\n}', source: 'request' });
    assert.deepEqual(server.requests[0].body.stop, ['\n\n\n']);
    assert.equal(p.counters.aborted, 1);
  });

  it('falls back to prefix-only for a server that refuses suffix, and remembers it', async () => {
    server = await completionServer(['42'], 1, true);
    const { p, logs } = pipeline(server);
    assert.deepEqual(await p.complete(query('n = ', { manual: true })), { text: '42', source: 'request' });
    assert.equal(server.requests.length, 2);
    assert.equal(server.requests[1].body.suffix, undefined);
    assert.match(logs[0], /prefix-only/);
    await p.complete(query('m = ', { manual: true }));
    assert.equal(server.requests.length, 3, 'no second suffix attempt');
  });

  it('a superseded keystroke gets nothing and sends nothing', async () => {
    server = await completionServer(['x'], 1);
    const { p } = pipeline(server, 50);
    const a = p.complete(query('q = 1'));
    const b = p.complete(query('q = 12'));
    assert.equal(await a, undefined);
    assert.deepEqual(await b, { text: 'x', source: 'request' });
    assert.equal(server.requests.length, 1);
  });
});
