// Every field's invalid values answered 4xx naming the field, its edge values answered 200, and
// hundreds of malformed, truncated, wrong-typed and oversized requests answered 4xx (a cut-off
// request: no answer at all), while the server keeps serving.
import assert from 'node:assert/strict';
import net from 'node:net';
import { post, startTestServer, waitFor, type TestServer } from './helpers/harness';

/** Small seeded PRNG (mulberry32), so a failure can be replayed. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const COMPLETIONS = '/v1/completions';
const CHAT = '/v1/chat/completions';
const BENCHMARK = '/v1/benchmark';
const BATCHING = '/v1/batching';
const BASE: Record<string, Record<string, unknown>> = {
  [COMPLETIONS]: { prompt: 'a', max_tokens: 2 },
  [CHAT]: { messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 },
  [BENCHMARK]: { concurrency: [1], max_tokens: 1, prompts: ['short'] },
  [BATCHING]: { enabled: true },
};

/** A JSON text spliced in as is (a number JSON.stringify cannot write, such as 1e999). */
class Raw {
  constructor(readonly text: string) {}
}

/** One request: `fields` over the endpoint's valid base body; an `undefined` field is left out. */
interface Case {
  path: string;
  fields: Record<string, unknown>;
  headers?: Record<string, string>;
}

function bodyOf(c: Case): string {
  const body: Record<string, unknown> = { ...BASE[c.path] };
  const raws: string[] = [];
  for (const [k, v] of Object.entries(c.fields)) {
    if (v === undefined) delete body[k];
    else if (v instanceof Raw) body[k] = `__raw${raws.push(v.text) - 1}__`;
    else body[k] = v;
  }
  return JSON.stringify(body).replace(/"__raw(\d+)__"/g, (_, i: string) => raws[Number(i)]);
}

const show = (c: Case) => `${c.path} ${JSON.stringify(c.fields, (_k, v: unknown) => (v instanceof Raw ? v.text : typeof v === 'string' && v.length > 30 ? `${v.slice(0, 10)}...(${v.length})` : v)).slice(0, 200)}${c.headers ? ` ${JSON.stringify(c.headers)}` : ''}`;

const BIG = 2 ** 30;
const tooMany = (n: number) => Array.from({ length: n }, () => ({ role: 'user', content: 'x' }));

/**
 * Invalid values, each with the status and the `param` its answer must carry (docs/API.md,
 * src/server/http/fields.ts and requests.ts): a value one step past every bound, wrong types, and
 * non-finite numbers (JSON cannot write them; `1e999` parses as Infinity).
 */
const INVALID: { path: string; field: string; values: unknown[]; status?: number; param?: string; max_tokens?: 'omit'; extra?: Record<string, unknown> }[] = [];
for (const path of [COMPLETIONS, CHAT]) {
  INVALID.push(
    { path, field: 'temperature', values: [-0.001, 2.001, 3.7, 1e9, new Raw('1e999'), new Raw('-1e999'), '1', true, [], {}, [0.5]] },
    { path, field: 'top_p', values: [0, -0.1, 1.001, 3.7, new Raw('1e999'), '0.5', false, [1]] },
    { path, field: 'top_k', values: [-1, 1.5, 2 ** 20 + 1, new Raw('1e999'), '5', true, {}] },
    { path, field: 'max_tokens', values: [0, -1, 1.5, BIG + 1, new Raw('1e999'), '16', true, [4]] },
    // max_completion_tokens is read when max_tokens is absent (it is an alias).
    { path, field: 'max_completion_tokens', values: [0, -1, 2.5, BIG + 1, '16', false], max_tokens: 'omit' },
    { path, field: 'max_completion_tokens', values: [0, 'x'] },
    { path, field: 'n', values: [0, -1, 1.5, 129, '1', true, [1]] },
    { path, field: 'n', values: [17, 128], param: 'n' },
    { path, field: 'seed', values: [1.5, Number.MAX_SAFE_INTEGER + 2, -Number.MAX_SAFE_INTEGER - 2, new Raw('1e999'), '42', true, {}] },
    { path, field: 'stop', values: ['', [''], ['a', ''], ['a', 'b', 'c', 'd', 'e'], 5, [1], ['a', 2], {}, true, [['a']]] },
    { path, field: 'stream', values: ['true', 1, 0, [], {}] },
    { path, field: 'stream_options', values: ['x', 1, [], true, { include_usage: true }] },
    { path, field: 'stream', values: [true], extra: { stream_options: { include_usage: 'yes' } }, param: 'stream_options.include_usage' },
    { path, field: 'stream', values: [true], extra: { stream_options: { include_usage: 1 } }, param: 'stream_options.include_usage' },
    { path, field: 'presence_penalty', values: [2.5, -2.1, '0', new Raw('1e999')] },
    { path, field: 'frequency_penalty', values: [3, 'x'] },
    { path, field: 'min_p', values: [-0.1, 1.5, '0.1', true] },
    { path, field: 'repetition_penalty', values: [0, -1, 11, 'x'] },
    { path, field: 'repeat_penalty', values: [0, 'x', [1.1]] },
    { path, field: 'repeat_penalty', values: [1.1], extra: { repetition_penalty: 1.1 } },
    { path, field: 'repeat_last_n', values: [-2, 1.5, 'x'] },
    { path, field: 'speculative', values: ['yes', 1, {}] },
    { path, field: 'prediction', values: ['x', 1, []] },
    { path, field: 'prediction', values: [{ type: 'text', content: 'x' }], param: 'prediction.type' },
    { path, field: 'prediction', values: [{ type: 'content' }, { type: 'content', content: [{ type: 'text' }] }], param: 'prediction.content' },
    { path, field: 'best_of', values: [2, 0, 'x'] },
    { path, field: 'priority', values: ['urgent', '', 'Normal', 1, true, ['normal']] },
    { path, field: 'truncate_prompt', values: ['right', '', true, 1] },
    { path, field: 'ignore_eos', values: ['yes', 1, [], {}] },
    { path, field: 'user', values: [5, true, [], 'u'.repeat(1025)] },
    { path, field: 'model', values: [5, true, [], {}, 'm'.repeat(1025)] },
    { path, field: 'model', values: ['gpt-4', 'test-model2', ''], status: 404 },
  );
}
INVALID.push(
  { path: COMPLETIONS, field: 'prompt', values: [undefined, '', 5, true, {}, [], ['a', 'b'], [5], [['a']]] },
  { path: COMPLETIONS, field: 'suffix', values: [5, true, [], {}] },
  { path: COMPLETIONS, field: 'echo', values: ['yes', 1, []] },
  { path: COMPLETIONS, field: 'input_extra', values: ['x', 5, {}, true, [{ filename: 'a', text: 'x' }]] },
  { path: COMPLETIONS, field: 'input_extra', values: [[5], ['x'], [[]]], extra: { suffix: 's' }, param: 'input_extra[0]' },
  { path: COMPLETIONS, field: 'input_extra', values: [[{ filename: 'a' }], [{ text: 5 }]], extra: { suffix: 's' }, param: 'input_extra[0].text' },
  // Completions: `logprobs` is the number of alternatives; chat's top_logprobs is not its field.
  { path: COMPLETIONS, field: 'logprobs', values: [true, -1, 21, 1.5, 'x', {}] },
  { path: COMPLETIONS, field: 'top_logprobs', values: [0, 1, 5] },
  { path: COMPLETIONS, field: 'logprobs', values: [0, 3], extra: { echo: true }, status: 400 },
  // Chat: `logprobs` is a switch, top_logprobs (0-20) needs it on.
  { path: CHAT, field: 'logprobs', values: [1, 0, 'x', {}] },
  { path: CHAT, field: 'top_logprobs', values: [0, 5] },
  { path: CHAT, field: 'top_logprobs', values: [0, 5], extra: { logprobs: false } },
  { path: CHAT, field: 'top_logprobs', values: [-1, 21, 1.5, 'x', true], extra: { logprobs: true } },
  { path: CHAT, field: 'messages', values: [undefined, [], 'hi', 5, {}, { role: 'user', content: 'hi' }, tooMany(1025)] },
  { path: BENCHMARK, field: 'concurrency', values: [[], [0], [65], [1.5], ['1'], 1, 'x', [1, 2, 3, 4, 5, 6, 7, 8, 9], null] },
  { path: BENCHMARK, field: 'max_tokens', values: [0, 4097, 1.5, '8', null] },
  { path: BENCHMARK, field: 'prompts', values: [[], ['huge'], 'short', ['short', 5], null] },
  { path: BATCHING, field: 'enabled', values: [undefined, 'true', 1, 0, null, []] },
);

/** Invalid values inside messages, with the nested param that names the part at fault. */
const INVALID_MESSAGES: [unknown[], string][] = [
  [[null], 'messages[0]'],
  [['hi'], 'messages[0]'],
  [[[]], 'messages[0]'],
  [[{ role: 'user', content: 'a' }, 7], 'messages[1]'],
  [[{ content: 'x' }], 'messages[0].role'],
  [[{ role: 'wizard', content: 'x' }], 'messages[0].role'],
  [[{ role: 5, content: 'x' }], 'messages[0].role'],
  [[{ role: 'user', content: 5 }], 'messages[0].content'],
  [[{ role: 'user', content: {} }], 'messages[0].content'],
  [[{ role: 'user', content: true }], 'messages[0].content'],
  [[{ role: 'user', content: [{ type: 'image_url' }] }], 'messages[0].content[0]'],
  [[{ role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text' }] }], 'messages[0].content[1]'],
  [[{ role: 'user', content: [{ type: 'text', text: 5 }] }], 'messages[0].content[0]'],
  [[{ role: 'system', content: 'a' }, { role: 'user', content: ['x'] }], 'messages[1].content[0]'],
];

function invalidCases(): (Case & { status: number; param: string })[] {
  const out: (Case & { status: number; param: string })[] = [];
  for (const row of INVALID) {
    for (const v of row.values) {
      const fields: Record<string, unknown> = { ...row.extra, [row.field]: v };
      if (row.max_tokens === 'omit') fields.max_tokens = undefined;
      out.push({ path: row.path, fields, status: row.status ?? 400, param: row.param ?? row.field });
    }
  }
  for (const [messages, param] of INVALID_MESSAGES) out.push({ path: CHAT, fields: { messages }, status: 400, param });
  // Pairs of fields that are each valid alone.
  out.push(
    { path: COMPLETIONS, fields: { echo: true, suffix: 'x' }, status: 400, param: 'echo' },
    { path: COMPLETIONS, fields: { stream: false, stream_options: { include_usage: true } }, status: 400, param: 'stream_options' },
    { path: COMPLETIONS, fields: { prompt: '', suffix: '' }, status: 400, param: 'prompt' },
  );
  for (const path of [COMPLETIONS, CHAT]) {
    for (const h of ['urgent', '', 'NORMAL']) out.push({ path, fields: {}, headers: { 'x-mlx-batch-priority': h }, status: 400, param: 'x-mlx-batch-priority' });
  }
  return out;
}

/** Values at the edges of each range, and the other accepted forms: each must answer 200. */
function edgeCases(): Case[] {
  const out: Case[] = [];
  for (const path of [COMPLETIONS, CHAT]) {
    const rows: Record<string, unknown>[] = [
      { temperature: 0 }, { temperature: 2 }, { temperature: 1e-9 }, { temperature: null },
      { top_p: 1 }, { top_p: 1e-9 }, { top_p: null },
      { top_k: 0 }, { top_k: 1 }, { top_k: 2 ** 20 },
      { max_tokens: 1 }, { max_tokens: undefined, max_completion_tokens: 1 }, { max_tokens: null, max_completion_tokens: 3 },
      { n: 1 }, { n: null }, { n: 2 }, { n: 16, max_tokens: 2 },
      { seed: 0 }, { seed: -1 }, { seed: Number.MAX_SAFE_INTEGER }, { seed: -Number.MAX_SAFE_INTEGER },
      { stop: 'x' }, { stop: ['a', 'b', 'c', 'd'] }, { stop: [] }, { stop: null },
      { stream: true }, { stream: false }, { stream: true, stream_options: { include_usage: true } }, { stream: true, stream_options: {} },
      { logprobs: false }, { logprobs: null }, { top_logprobs: null },
      { presence_penalty: 0 }, { frequency_penalty: 0 }, { best_of: 1 },
      { presence_penalty: 0.5 }, { presence_penalty: -2 }, { frequency_penalty: 2 }, { frequency_penalty: -0.1 },
      { min_p: 0.05 }, { min_p: 0 }, { repetition_penalty: 1.1 }, { repeat_penalty: 1.3, repeat_last_n: -1 }, { repeat_last_n: 0 },
      { speculative: false }, { prediction: { type: 'content', content: 'abc' } }, { prediction: null },
      { priority: 'interactive' }, { priority: 'normal' }, { priority: 'background' },
      { truncate_prompt: 'left' }, { truncate_prompt: 'none' },
      { ignore_eos: true }, { ignore_eos: false },
      { user: 'someone' }, { user: 'u'.repeat(1024) },
      { model: 'test-model' }, { model: null },
      { unknown_field: [1, { x: 2 }] },
    ];
    for (const fields of rows) out.push({ path, fields });
    out.push({ path, fields: {}, headers: { 'x-mlx-batch-priority': 'background' } });
    out.push({ path, fields: { priority: 'urgent' }, headers: { 'x-mlx-batch-priority': 'interactive' } });
  }
  out.push(
    { path: COMPLETIONS, fields: { prompt: ['a'] } },
    { path: COMPLETIONS, fields: { prompt: '', suffix: 'x' } },
    { path: COMPLETIONS, fields: { prompt: 'a', suffix: '' } },
    { path: COMPLETIONS, fields: { echo: true } },
    { path: COMPLETIONS, fields: { suffix: 's', input_extra: [{ filename: 'a.ts', text: 'x' }, { text: 'no name' }] } },
    { path: COMPLETIONS, fields: { suffix: '', input_extra: [] } }, { path: COMPLETIONS, fields: { input_extra: null } },
    { path: COMPLETIONS, fields: { logprobs: 0 } }, { path: COMPLETIONS, fields: { logprobs: 20, n: 2 } },
    { path: COMPLETIONS, fields: { logprobs: 5, stream: true } },
    { path: CHAT, fields: { logprobs: true } }, { path: CHAT, fields: { logprobs: true, top_logprobs: 20 } },
    { path: CHAT, fields: { logprobs: true, top_logprobs: 0, stream: true, n: 3 } }, { path: CHAT, fields: { logprobs: false, top_logprobs: null } },
    { path: CHAT, fields: { messages: [{ role: 'system', content: 's' }, { role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] }, { role: 'assistant', content: null }, { role: 'tool', content: 'r' }] } },
    { path: CHAT, fields: { messages: tooMany(1024), truncate_prompt: 'left' } },
    { path: BATCHING, fields: { enabled: true } },
  );
  return out;
}

function malformedBodies(rand: () => number, count: number): { path: string; body: string; headers?: Record<string, string>; why: string }[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const invalid = invalidCases().filter((c) => c.path !== BENCHMARK);
  const out: { path: string; body: string; headers?: Record<string, string>; why: string }[] = [];
  while (out.length < count) {
    const path = pick([COMPLETIONS, CHAT, BATCHING, BENCHMARK]);
    const kind = Math.floor(rand() * 6);
    if (kind === 0) {
      const text = JSON.stringify({ ...BASE[path], stream: rand() < 0.5 });
      out.push({ path, body: text.slice(0, 1 + Math.floor(rand() * (text.length - 2))), why: 'truncated JSON' });
    } else if (kind === 1) {
      // One invalid field from the table, among valid random extras (unknown fields are ignored).
      const c = pick(invalid);
      const extra = rand() < 0.5 ? { [`x_${Math.floor(rand() * 100)}`]: pick<unknown>([null, 1, 'z', [], {}]) } : {};
      out.push({ path: c.path, body: bodyOf({ ...c, fields: { ...extra, ...c.fields } }), headers: c.headers, why: show(c) });
    } else if (kind === 2) {
      out.push({ path, body: pick(['', ' ', 'null', '[]', '42', '"prompt"', '{', '}', '{"prompt":}', 'prompt=a', '\u00ff\u00fe', '{"prompt":"a",}', 'NaN']), why: 'not an object' });
    } else if (kind === 3) {
      const [messages] = pick(INVALID_MESSAGES);
      out.push({ path: CHAT, body: bodyOf({ path: CHAT, fields: { messages } }), why: 'bad messages' });
    } else if (kind === 4) {
      out.push({ path, body: JSON.stringify({ ...BASE[path], prompt: 'z'.repeat(70 * 1024) }), why: 'oversized' });
    } else {
      const bytes = Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 200) }, () => Math.floor(rand() * 256)));
      out.push({ path, body: bytes.toString('latin1'), why: 'random bytes' });
    }
  }
  return out;
}

function truncatedOverSocket(url: string, declared: number, sent: string): Promise<string> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const sock = net.connect(Number(u.port), u.hostname, () => {
      sock.write(`POST /v1/completions HTTP/1.1\r\nhost: ${u.host}\r\ncontent-type: application/json\r\ncontent-length: ${declared}\r\n\r\n${sent}`);
      sock.end();
    });
    let answer = '';
    sock.on('data', (d) => (answer += d.toString('latin1')));
    sock.on('close', () => resolve(answer));
    sock.on('error', () => resolve(answer));
  });
}

describe('server: fuzzing with bad requests', () => {
  let s: TestServer;
  before(async () => { s = await startTestServer(); });
  after(async () => { await s.close(); });

  it('answers every invalid field value 4xx with the field named in param', async function () {
    this.timeout(60_000);
    const cases = invalidCases();
    const wrong: string[] = [];
    for (let i = 0; i < cases.length; i += 16) {
      await Promise.all(cases.slice(i, i + 16).map(async (c) => {
        const res = await post(`${s.url}${c.path}`, bodyOf(c), c.headers);
        const text = await res.text();
        let err: { param?: unknown; type?: unknown; message?: unknown } | undefined;
        try { err = JSON.parse(text).error; } catch { err = undefined; }
        if (res.status !== c.status || err?.param !== c.param || typeof err.type !== 'string' || typeof err.message !== 'string') {
          wrong.push(`${show(c)}: ${res.status} ${text.slice(0, 160)} (expected ${c.status}, param ${c.param})`);
        }
      }));
    }
    assert.deepEqual(wrong, [], `${wrong.length} of ${cases.length} invalid requests answered wrongly:\n${wrong.join('\n')}`);
    assert.equal(s.runner.stats().running, 0);
  });

  it('answers 200 to values at the edges of every range', async function () {
    this.timeout(60_000);
    const wrong: string[] = [];
    for (const c of edgeCases()) {
      const res = await post(`${s.url}${c.path}`, bodyOf(c), c.headers);
      const text = await res.text();
      if (res.status !== 200) wrong.push(`${show(c)}: ${res.status} ${text.slice(0, 160)}`);
    }
    assert.deepEqual(wrong, [], wrong.join('\n'));
  });

  it('answers 400 requests of garbage with 4xx and keeps serving', async function () {
    this.timeout(120_000);
    const cases = malformedBodies(rng(1234), 400);
    const wrong: string[] = [];
    for (let i = 0; i < cases.length; i += 16) {
      await Promise.all(cases.slice(i, i + 16).map(async (c) => {
        const res = await post(`${s.url}${c.path}`, c.body, c.headers);
        const text = await res.text();
        let err: { type?: unknown; message?: unknown } | undefined;
        try { err = JSON.parse(text).error; } catch { err = undefined; }
        if (res.status < 400 || res.status >= 500 || typeof err?.message !== 'string' || typeof err.type !== 'string') {
          wrong.push(`${c.why} on ${c.path}: ${res.status} ${text.slice(0, 200)}`);
        }
      }));
    }
    assert.deepEqual(wrong, [], wrong.join('\n'));
    assert.ok(new Set(cases.map((c) => c.why)).size > 40, 'the cases are varied');
    assert.equal(s.runner.stats().running, 0);
    assert.ok(!s.logs.some((l) => l.startsWith('error')), s.logs.filter((l) => l.startsWith('error')).join('\n'));
    const ok = await (await post(`${s.url}/v1/completions`, { prompt: 'a', max_tokens: 3 })).json();
    assert.equal(ok.choices[0].text, 'bcd');
  });

  it('survives requests cut off mid-body, bad paths and bad methods', async () => {
    const answers = await Promise.all([
      truncatedOverSocket(s.url, 100, '{"prompt": "a", "max'),
      truncatedOverSocket(s.url, 10, '{"prompt": "abcdefghijklmnop"}'),
      truncatedOverSocket(s.url, 5, ''),
    ]);
    for (const a of answers) if (a) assert.match(a, /^HTTP\/1\.1 4\d\d/, a.slice(0, 100));
    for (const [method, path] of [['DELETE', '/v1/completions'], ['PUT', '/health'], ['GET', '/%zz'], ['GET', '//'], ['POST', '/v1/models'], ['GET', '/v1/completions/../../etc/passwd']]) {
      const res = await fetch(`${s.url}${path}`, { method });
      assert.ok(res.status >= 400 && res.status < 500, `${method} ${path}: ${res.status}`);
    }
    const garbage = await new Promise<string>((resolve) => {
      const u = new URL(s.url);
      const sock = net.connect(Number(u.port), u.hostname, () => sock.end('NOT HTTP AT ALL\r\n\r\n'));
      let out = '';
      sock.on('data', (d) => (out += d.toString()));
      sock.on('close', () => resolve(out));
    });
    assert.match(garbage, /^HTTP\/1\.1 400/);
    assert.equal((await post(`${s.url}/v1/completions`, { prompt: 'a', max_tokens: 1 })).status, 200);
    await waitFor(() => s.runner.stats().running === 0, 'no request left running', { state: () => s.runner.stats() });
    assert.ok(!s.logs.some((l) => l.startsWith('error')), s.logs.join('\n'));
  });
});
