import assert from 'node:assert/strict';
import type http from 'node:http';
import { ApiClient } from '../../../src/extension/client/api-client';
import { CompletionPipeline, type CompletionQuery, type PipelineOptions } from '../../../src/extension/completion/completion-pipeline';
import type { ExtraContextChunk, InfillResponse } from '../../../src/shared/protocol';
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

function pipeline(server: FakeServer, debounceMs = 20, truncatePrompt?: boolean, over: Partial<PipelineOptions> = {}) {
  const logs: string[] = [];
  const client = new CountingClient({ baseUrl: server.url });
  const p = new CompletionPipeline({
    client: async () => client,
    options: () => ({ debounceMs, maxTokens: 16, temperature: 0, ...(truncatePrompt === undefined ? {} : { truncatePrompt }), ...over }),
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

/** A chunk of `n` distinct lines named after `tag`. */
function chunk(tag: string, n = 6): ExtraContextChunk {
  return { filename: `${tag}.ts`, text: Array.from({ length: n }, (_, i) => `${tag}(${i});`).join('\n') + '\n' };
}

/** One streamed /infill event, llama.cpp's shape. */
const infillEvent = (content: string, stop = false): Partial<InfillResponse> => ({ content, stop, ...(stop ? { stop_type: 'eos' as const, tokens_predicted: 2 } : {}) });

describe('extension completion pipeline: context chunks', () => {
  let server: FakeServer & { release(): void };
  afterEach(async () => server?.stop());

  const here = 'const a = 1;\nconst b = 2;\nconst c = 3;\n';

  it('sends the ring\'s chunks then the definitions as input_extra to the local server, leaving out what the prefix holds', async () => {
    server = await completionServer(['x'], 1);
    const { p } = pipeline(server, 0, true, { extraContext: true, maxExtraChars: 10_000 });
    const lookups: string[] = [];
    const a = await p.complete(query(`${here}const y = `, {
      extra: [chunk('a'), { filename: 'here.ts', text: here }, chunk('b')],
      extraLookup: async () => { lookups.push('looked up'); return [chunk('def')]; },
    }));
    assert.deepEqual(a, { text: 'x', source: 'request' });
    assert.deepEqual(server.requests[0].body.input_extra, [chunk('a'), chunk('b'), chunk('def')]);
    assert.equal(server.requests[0].body.suffix, '\n');
    assert.deepEqual(lookups, ['looked up']);
  });

  it('never sends more than maxExtraChars of chunks', async () => {
    server = await completionServer(['x'], 1);
    const size = chunk('a').text.length;
    const { p } = pipeline(server, 0, true, { extraContext: true, maxExtraChars: 2 * size + 1 });
    await p.complete(query('const y = ', { extra: [chunk('a'), chunk('b'), chunk('c')] }));
    assert.deepEqual(server.requests[0].body.input_extra, [chunk('b'), chunk('c')], 'the newest that fit, oldest first');
  });

  it('sends no chunks, and looks none up, for a server that does not take them (OpenAI-compatible remote)', async () => {
    server = await completionServer(['x'], 1);
    const { p } = pipeline(server, 0, false, { extraContext: false, maxExtraChars: 10_000 });
    let looked = 0;
    await p.complete(query('const y = ', { extra: [chunk('a')], extraLookup: async () => { looked += 1; return [chunk('def')]; } }));
    assert.equal('input_extra' in server.requests[0].body, false);
    assert.equal(looked, 0);
  });

  it('sends no chunks in the prefix-only retry to a server that refuses suffix', async () => {
    server = await completionServer(['42'], 1, true);
    const { p } = pipeline(server, 0, true, { extraContext: true, maxExtraChars: 10_000 });
    assert.deepEqual(await p.complete(query('n = ', { manual: true, extra: [chunk('a')] })), { text: '42', source: 'request' });
    assert.deepEqual(server.requests[0].body.input_extra, [chunk('a')]);
    assert.equal('input_extra' in server.requests[1].body, false);
  });

  it('looks nothing up when the answer comes from the cache', async () => {
    server = await completionServer(['compute(1);'], 1);
    const { p } = pipeline(server, 0, true, { extraContext: true, maxExtraChars: 10_000 });
    await p.complete(query('const x = '));
    let looked = 0;
    const b = await p.complete(query('const x = comp', { extraLookup: async () => { looked += 1; return []; } }));
    assert.equal(b?.source, 'cache');
    assert.equal(looked, 0);
  });

  it('asks a llama.cpp remote on /infill with llama.vscode\'s fields and the ring as input_extra', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    server = Object.assign(await new FakeServer({
      'POST /infill': async (_req, res) => {
        const send = sse(res);
        for (const t of ['compute', '(1);', '\nnext']) {
          send(infillEvent(t));
          await sleep(1);
        }
        // llama.cpp would go on to its time limit: the pipeline has to end the request itself.
        await held;
        if (!res.destroyed) res.end();
      },
    }).start(), { release });
    const { p } = pipeline(server, 0, false, { fimApi: 'infill', extraContext: true, maxExtraChars: 10_000, model: 'qwen' });
    const a = await p.complete(query('function f() {\n  const x = ', { suffix: '\n}\n', extra: [chunk('a')], extraLookup: async () => [chunk('def')] }));
    assert.deepEqual(a, { text: 'compute(1);', source: 'request' });
    await waitFor(() => server.closedEarly === 1, 'the /infill stream to be closed at the end of the line');
    release();
    const r = server.requests[0];
    assert.equal(r.path, '/infill');
    assert.equal(r.headers['x-mlx-batch-priority'], 'interactive');
    assert.deepEqual(Object.keys(r.body).sort(), [
      'cache_prompt', 'input_extra', 'input_prefix', 'input_suffix', 'n_predict', 'prompt', 'samplers', 'stream', 't_max_predict_ms', 't_max_prompt_ms', 'top_k', 'top_p',
    ]);
    assert.deepEqual(r.body, {
      input_prefix: 'function f() {\n',
      input_suffix: '\n}\n',
      input_extra: [chunk('a'), chunk('def')],
      prompt: '  const x = ',
      n_predict: 16,
      top_k: 40,
      top_p: 0.99,
      samplers: ['top_k', 'top_p', 'infill'],
      cache_prompt: true,
      t_max_prompt_ms: 500,
      t_max_predict_ms: 1000,
      stream: true,
    });
  });

  it('reads a whole /infill stream that ends with its stop event', async () => {
    server = Object.assign(await new FakeServer({
      'POST /infill': (_req, res) => {
        const send = sse(res);
        send(infillEvent('\n  return 1;'));
        send(infillEvent('', true));
        res.end();
      },
    }).start(), { release: () => undefined });
    const { p } = pipeline(server, 0, false, { fimApi: 'infill', extraContext: false });
    assert.deepEqual(await p.complete(query('function f() {', { suffix: '' })), { text: '\n  return 1;', source: 'request' });
    assert.deepEqual(server.requests[0].body.input_extra, [], 'no chunks when context is off');
  });
});
