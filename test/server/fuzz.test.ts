// Hundreds of malformed, truncated, wrong-typed and oversized requests: every one answered with
// a 4xx (or, for a cut-off request, no answer at all), and the server keeps serving.
import assert from 'node:assert/strict';
import net from 'node:net';
import { post, startTestServer, type TestServer } from './helpers/harness';

/** Small seeded PRNG (mulberry32), so a failure can be replayed. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WEIRD: unknown[] = [null, true, false, 0, -1, 1e309, -0.5, 3.7, 1 << 31, '', 'x', '\u0000', 'a'.repeat(5000), [], [1], ['a', 2], {}, { a: 1 }, [[]], { type: 'text' }];
const FIELDS = ['prompt', 'suffix', 'max_tokens', 'temperature', 'top_p', 'top_k', 'stop', 'seed', 'stream', 'stream_options', 'n', 'logprobs', 'priority', 'truncate_prompt', 'echo', 'model', 'messages', 'ignore_eos', 'user', 'max_completion_tokens', 'presence_penalty'];
const VALID_COMPLETION = { prompt: 'a', max_tokens: 2 };
const VALID_CHAT = { messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 };

function malformedBodies(rand: () => number, count: number): { path: string; body: string; why: string }[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const out: { path: string; body: string; why: string }[] = [];
  while (out.length < count) {
    const path = pick(['/v1/completions', '/v1/chat/completions', '/v1/batching', '/v1/benchmark']);
    const base: Record<string, unknown> = path === '/v1/chat/completions' ? { ...VALID_CHAT } : { ...VALID_COMPLETION };
    const kind = Math.floor(rand() * 6);
    if (kind === 0) {
      const text = JSON.stringify({ ...base, stream: rand() < 0.5 });
      out.push({ path, body: text.slice(0, 1 + Math.floor(rand() * (text.length - 2))), why: 'truncated JSON' });
    } else if (kind === 1) {
      // Wrong-typed field: only keep cases where the value is invalid for that field.
      const field = pick(FIELDS);
      const value = pick(WEIRD);
      out.push({ path, body: JSON.stringify({ ...base, [field]: value }), why: `${field}=${JSON.stringify(value)?.slice(0, 20)}` });
    } else if (kind === 2) {
      out.push({ path, body: pick(['', ' ', 'null', '[]', '42', '"prompt"', '{', '}', '{"prompt":}', 'prompt=a', '\u00ff\u00fe', '{"prompt":"a",}', 'NaN']), why: 'not an object' });
    } else if (kind === 3) {
      const messages = pick<unknown>([[], [null], [{ role: 'wizard', content: 'x' }], [{ content: 'x' }], [{ role: 'user', content: 5 }], [{ role: 'user', content: [{ type: 'image_url' }] }], 'hi', { role: 'user' }]);
      out.push({ path: '/v1/chat/completions', body: JSON.stringify({ ...VALID_CHAT, messages }), why: 'bad messages' });
    } else if (kind === 4) {
      out.push({ path, body: JSON.stringify({ ...base, prompt: 'z'.repeat(70 * 1024) }), why: 'oversized' });
    } else {
      const bytes = Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 200) }, () => Math.floor(rand() * 256)));
      out.push({ path, body: bytes.toString('latin1'), why: 'random bytes' });
    }
  }
  return out;
}

/** Field values that happen to be valid for the field are fine too: those must answer 2xx. */
function isValidAnyway(status: number, why: string): boolean {
  return status === 200 && /^(prompt|suffix|max_tokens|temperature|top_p|top_k|stop|seed|stream|stream_options|logprobs|echo|ignore_eos|user|max_completion_tokens|presence_penalty|n|priority|truncate_prompt|model|messages)=/.test(why);
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

  it('answers 400 requests of garbage with 4xx and keeps serving', async function () {
    this.timeout(120_000);
    const cases = malformedBodies(rng(1234), 400);
    const statuses: number[] = [];
    for (let i = 0; i < cases.length; i += 16) {
      await Promise.all(cases.slice(i, i + 16).map(async (c) => {
        const res = await post(`${s.url}${c.path}`, c.body);
        const text = await res.text();
        statuses.push(res.status);
        if (isValidAnyway(res.status, c.why)) return;
        assert.ok(res.status >= 400 && res.status < 500, `${c.why} on ${c.path}: ${res.status} ${text.slice(0, 200)}`);
        const err = JSON.parse(text).error;
        assert.equal(typeof err.message, 'string', c.why);
        assert.equal(typeof err.type, 'string', c.why);
      }));
    }
    assert.ok(statuses.filter((st) => st >= 400).length > 300, 'most cases were rejected');
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
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(s.runner.stats().running, 0);
    assert.ok(!s.logs.some((l) => l.startsWith('error')), s.logs.join('\n'));
  });
});
