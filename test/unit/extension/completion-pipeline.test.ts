import assert from 'node:assert/strict';
import { ApiClient } from '../../../src/extension/client/api-client';
import { CompletionPipeline, type CompletionQuery } from '../../../src/extension/completion/completion-pipeline';
import { FakeServer, completionChunk, sleep, sse } from './helpers/fake-openai-server';

/** A server that streams `tokens` one every `delayMs`, or refuses suffix when `noSuffix`. */
function completionServer(tokens: string[], delayMs: number, noSuffix = false) {
  return new FakeServer({
    'POST /v1/completions': async (req, res) => {
      if (noSuffix && req.body.suffix !== undefined) {
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'suffix is not currently supported', type: 'BadRequestError' } }));
        return;
      }
      const send = sse(res);
      for (const t of tokens) {
        if (res.destroyed) return;
        send(completionChunk(t));
        await sleep(delayMs);
      }
      if (res.destroyed) return;
      send('[DONE]');
      res.end();
    },
  }).start();
}

function query(prefix: string, over: Partial<CompletionQuery> = {}): CompletionQuery {
  const lineBefore = prefix.slice(prefix.lastIndexOf('\n') + 1);
  return { prefix, suffix: '\n', lineBefore, lineAfter: '', manual: false, signal: new AbortController().signal, ...over };
}

function pipeline(server: FakeServer, debounceMs = 20, truncatePrompt?: boolean) {
  const logs: string[] = [];
  const p = new CompletionPipeline({
    client: async () => new ApiClient({ baseUrl: server.url }),
    options: () => ({ debounceMs, maxTokens: 16, temperature: 0, ...(truncatePrompt === undefined ? {} : { truncatePrompt }) }),
    log: (m) => logs.push(m),
  });
  return { p, logs };
}

describe('extension completion pipeline', () => {
  let server: FakeServer;
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
    server = await completionServer(['comp', 'ute', '(1);'], 60);
    const { p } = pipeline(server, 10);
    const ac = new AbortController();
    const first = p.complete(query('const x = ', { signal: ac.signal }));
    await sleep(90);
    ac.abort(); // the editor cancels the first request on the next keystroke
    assert.equal(await first, undefined);
    const second = await p.complete(query('const x = co'));
    assert.deepEqual(second, { text: 'mpute(1);', source: 'inflight' });
    assert.equal(server.requests.length, 1);
  });

  it('latest wins: a query that disagrees aborts the stale request so the server frees it', async () => {
    server = await completionServer(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'], 40);
    const { p } = pipeline(server, 10);
    const ac = new AbortController();
    const first = p.complete(query('let y = ', { signal: ac.signal }));
    await sleep(70);
    ac.abort();
    await first;
    const second = p.complete(query('let y = zz'));
    await sleep(60);
    assert.equal(server.closedEarly, 1, 'the stale request was closed');
    assert.deepEqual(await second, { text: 'abcdefgh', source: 'request' });
    assert.equal(server.requests.length, 2);
  });

  it('stops generating at the end of the block and aborts the request', async () => {
    server = await completionServer(['\n  return 1;\n', '}\n', 'function g() {\n', 'never'], 30);
    const { p } = pipeline(server);
    const a = await p.complete(query('function f() {', { manual: true }));
    assert.deepEqual(a, { text: '\n  return 1;\n}', source: 'request' });
    assert.deepEqual(server.requests[0].body.stop, ['\n\n\n']);
    await sleep(50);
    assert.equal(server.closedEarly, 1);
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
