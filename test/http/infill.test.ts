// POST /infill, llama.cpp's endpoint, over the real runner with the deterministic engine: the
// payloads llama.vscode sends (its completion and its cache warm-up, field for field), the answer
// in llama.cpp's shape, other files' pieces before the FIM prompt in order, n_indent, stop words,
// streaming, and the same clear 400s as the OpenAI endpoints.
import assert from 'node:assert/strict';
import { post, readSse, startTestServer, type TestServer } from './helpers/harness';

/** What llama.vscode sends for a completion (its createRequestPayload with default settings). */
const completionPayload = (extra: { text: string; time?: number; filename: string }[]) => ({
  input_prefix: 'def f(x):\n', input_suffix: '\n\nprint(f(2))\n', input_extra: extra, prompt: '    return ',
  n_predict: 128, top_k: 40, top_p: 0.99, stream: false, samplers: ['top_k', 'top_p', 'infill'], cache_prompt: true,
  n_indent: 4, t_max_prompt_ms: 500, t_max_predict_ms: 1000,
});
/** Its warm-up: the ring's chunks alone, nothing to generate. */
const warmupPayload = (extra: { text: string; time?: number; filename: string }[]) => ({
  input_prefix: '', input_suffix: '', input_extra: extra, prompt: '', n_predict: 0, samplers: [], cache_prompt: true,
  t_max_prompt_ms: 500, t_max_predict_ms: 1,
});
const chunks = [{ text: 'def helper():\n    pass\n', time: 1, filename: 'util.py' }, { text: 'X = 1\n', time: 2, filename: 'consts.py' }];
const text = (tokens: readonly number[]) => String.fromCodePoint(...tokens);

describe('server: POST /infill (llama.cpp)', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(async () => { await s.close(); });

  it('answers llama.vscode\'s completion payload in llama.cpp\'s shape, other files first in the order sent', async () => {
    const res = await post(`${s.url}/infill`, completionPayload(chunks));
    assert.equal(res.status, 200);
    const body = await res.json();
    const prompt = text(s.engine.requests.get(s.engine.added.at(-1)!)!.promptTokens);
    assert.equal(prompt, '<REPO><FILE util.py>def helper():\n    pass\n<FILE consts.py>X = 1\n<FILE current><PRE>def f(x):\n    return<SUF>\n\nprint(f(2))\n<MID>');
    // The prompt goes without the blank typed after "return" (whitespace healing).
    assert.equal(body.content, 'abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwx');
    assert.equal(body.stop, true);
    assert.equal(body.stop_type, 'limit');
    assert.equal(body.tokens_predicted, 128);
    assert.equal(body.tokens_evaluated, [...prompt].length);
    assert.equal(body.tokens_cached, 0);
    assert.equal(body.truncated, false);
    assert.equal(body.model, 'test-model');
    for (const k of ['prompt_n', 'prompt_ms', 'prompt_per_second', 'predicted_n', 'predicted_ms', 'predicted_per_second']) assert.equal(typeof body.timings[k], 'number', k);
    assert.equal(body.timings.predicted_n, 128);
    assert.equal(body.timings.prompt_n, [...prompt].length);
    // llama.vscode's samplers leave temperature out: the draw is at 1, with top-k 40 and top-p 0.99; a completion is interactive.
    const params = s.submitted.at(-1)!;
    assert.deepEqual(params.sampling, { temperature: 1, topK: 40, topP: 0.99 });
    assert.equal(params.priority, 'interactive');
  });

  it('computes the warm-up\'s prompt at background priority and generates nothing', async () => {
    const res = await post(`${s.url}/infill`, warmupPayload(chunks));
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.content, '');
    assert.equal(body.tokens_predicted, 0);
    assert.equal(body.stop_type, 'limit');
    const prompt = text(s.engine.requests.get(s.engine.added.at(-1)!)!.promptTokens);
    assert.equal(prompt, '<REPO><FILE util.py>def helper():\n    pass\n<FILE consts.py>X = 1\n<FILE current><PRE><SUF><MID>');
    assert.equal(s.submitted.at(-1)!.priority, 'background');
    assert.equal(s.submitted.at(-1)!.maxTokens, 0);
    // The engine computed it to the end and released it.
    assert.ok(s.engine.plans.some((p) => p.prefill.some((c) => c.id === s.engine.added.at(-1) && c.end === [...prompt].length)));
    assert.ok(s.engine.released.includes(s.engine.added.at(-1)!));
  });

  it('keeps the leading pieces that fit in half the context and says it truncated', async () => {
    const big = Array.from({ length: 8 }, (_, i) => ({ filename: `f${i}.py`, text: 'y'.repeat(100) }));
    const body = await (await post(`${s.url}/infill`, { ...completionPayload(big), n_predict: 8 })).json();
    const prompt = text(s.engine.requests.get(s.engine.added.at(-1)!)!.promptTokens);
    assert.equal(body.truncated, true);
    // Half the context (256 tokens) holds <REPO>, two pieces of 112 and <FILE current>.
    assert.ok(prompt.includes('<FILE f0.py>') && prompt.includes('<FILE f1.py>'), 'the first pieces stay');
    assert.ok(!prompt.includes('<FILE f2.py>'), 'the others go');
    assert.ok(body.tokens_evaluated + 8 <= 512);
  });

  it('keeps up to half the room for other files when the text around the cursor is long', async () => {
    const body = await (await post(`${s.url}/infill`, { input_prefix: `${'p'.repeat(60)}\n`.repeat(12), input_suffix: 's', input_extra: chunks, n_predict: 8 })).json();
    const prompt = text(s.engine.requests.get(s.engine.added.at(-1)!)!.promptTokens);
    assert.equal(body.truncated, true);
    assert.ok(prompt.startsWith('<REPO><FILE util.py>def helper():\n    pass\n<FILE consts.py>X = 1\n<FILE current><PRE>'), 'both pieces stay');
    assert.ok(prompt.length < 512 && body.tokens_evaluated + 8 <= 512, 'the prefix gave way');
    assert.ok(prompt.includes(`${'p'.repeat(60)}\n<SUF>s<MID>`), 'the prefix keeps its end');
  });

  it('stops at a stop word and names it', async () => {
    const body = await (await post(`${s.url}/infill`, { input_prefix: 'x', input_suffix: 'y', n_predict: 20, stop: ['def'] })).json();
    assert.equal(body.content, 'abc');
    assert.equal(body.stop_type, 'word');
    assert.equal(body.stopping_word, 'def');
  });

  it('streams llama.cpp events: deltas, then a last one with stop and the counts', async () => {
    const frames = await readSse(await post(`${s.url}/infill`, { input_prefix: 'x', input_suffix: 'y', n_predict: 5, stream: true }));
    assert.ok(!frames.includes('[DONE]'), 'llama.cpp streams end without [DONE]');
    const events = frames.map((f) => JSON.parse(f));
    assert.equal(events.filter((e) => !e.stop).map((e) => e.content).join(''), 'abcde');
    const last = events.at(-1);
    assert.equal(last.stop, true);
    assert.equal(last.content, '');
    assert.equal(last.tokens_predicted, 5);
    assert.equal(last.stop_type, 'limit');
  });

  it('answers bad fields with the clear 400s of the OpenAI endpoints', async () => {
    const cases: [Record<string, unknown>, number, string, string][] = [
      [{ n_predict: 'x' }, 400, 'validation', 'n_predict'],
      [{ n_predict: -2 }, 400, 'validation', 'n_predict'],
      [{ input_prefix: 5 }, 400, 'validation', 'input_prefix'],
      [{ input_extra: 'x' }, 400, 'validation', 'input_extra'],
      [{ input_extra: [{ filename: 'a' }] }, 400, 'validation', 'input_extra[0].text'],
      [{ input_extra: [{ text: 'a', filename: 3 }] }, 400, 'validation', 'input_extra[0].filename'],
      [{ samplers: ['top_k', 'bogus'] }, 400, 'validation', 'samplers'],
      [{ samplers: 'kz' }, 400, 'validation', 'samplers'],
      [{ temperature: -1 }, 400, 'validation', 'temperature'],
      [{ top_p: 2 }, 400, 'validation', 'top_p'],
      [{ n_indent: -1 }, 400, 'validation', 'n_indent'],
      [{ stream: 'yes' }, 400, 'validation', 'stream'],
      [{ stop: 'x' }, 200, '', ''],
      [{ lora: [{ id: 0, scale: 0.5 }] }, 400, 'unsupported_feature', 'lora'],
      [{ model: 'other' }, 404, 'model_not_found', 'model'],
    ];
    for (const [fields, status, type, param] of cases) {
      const res = await post(`${s.url}/infill`, { input_prefix: 'a', n_predict: 1, ...fields });
      assert.equal(res.status, status, JSON.stringify(fields));
      const body = await res.json();
      if (status === 200) continue;
      assert.equal(body.error.type, type, JSON.stringify(fields));
      assert.equal(body.error.param, param, JSON.stringify(fields));
    }
    const garbage = await post(`${s.url}/infill`, '{"input_prefix": ');
    assert.equal(garbage.status, 400);
  });
});

describe('server: POST /infill n_indent', () => {
  it('stops at a line indented less than n_indent, before its first character', async () => {
    const answer = 'x + 1\n    y\n\n  z\nw';
    const s = await startTestServer({ engine: { next: (_last, _id, i) => answer.codePointAt(i % answer.length)! } });
    try {
      const body = await (await post(`${s.url}/infill`, { input_prefix: 'def f(x):\n    return ', input_suffix: '', n_predict: 40, n_indent: 4 })).json();
      assert.equal(body.content, 'x + 1\n    y\n\n  ');
      assert.equal(body.stop_type, 'limit');
      assert.equal(body.has_new_line, true);
      const off = await (await post(`${s.url}/infill`, { input_prefix: 'def f(x):\n    return ', input_suffix: '', n_predict: answer.length })).json();
      assert.equal(off.content, answer);
    } finally {
      await s.close();
    }
  });
});

describe('server: POST /infill on a model without FIM tokens', () => {
  it('answers 400 unsupported_feature naming input_suffix', async () => {
    const s = await startTestServer({ fim: false });
    try {
      const res = await post(`${s.url}/infill`, { input_prefix: 'a', input_suffix: 'b', n_predict: 4 });
      assert.equal(res.status, 400);
      const err = (await res.json()).error;
      assert.equal(err.type, 'unsupported_feature');
      assert.equal(err.param, 'input_suffix');
      assert.match(err.message, /fill-in-the-middle/);
    } finally {
      await s.close();
    }
  });
});
