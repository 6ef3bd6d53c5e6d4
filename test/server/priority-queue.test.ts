// The scheduler's priority classes and the waiting queue's bound, in the real server process on
// the tiny llama fixture. Long "blocker" streams hold every row while the queue is built, so the
// order in which the queued streams start (their first data frames) is decided by the scheduler
// alone once the blockers are closed, not by how fast requests arrive.
import assert from 'node:assert/strict';
import { ensureFixtureModel } from '../../src/server/fixtures';
import { PRIORITY_HEADER, type PriorityClass } from '../../src/shared/protocol';
import { metric, post } from '../http/helpers/harness';
import { AUTH, scrape, startRealServer, stopRealServer, waitForQueue, type RealServer } from './helpers/real-server';
import { openStream, type OpenStream } from './helpers/streams';

// Its greedy first token on llama-tiny decodes to text, so every stream's first token is a frame.
const PROMPT = 'function quickSort(arr) {';
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const headers = (priority: PriorityClass) => ({ ...AUTH, [PRIORITY_HEADER]: priority });

/** A stream that holds its row until aborted (the context is 4096 tokens). */
const blocker = (url: string, onFirst?: () => void) => openStream(url, { prompt: PROMPT, max_tokens: 4000, ignore_eos: true, temperature: 0 }, headers('background'), onFirst);

describe('real server: priority classes across 64 streams (max batch 4)', function () {
  this.timeout(120_000);
  let s: RealServer;
  before(async () => {
    s = await startRealServer(await ensureFixtureModel('llama', 'tiny'), ['--max-batch', '4', '--max-waiting', '64']);
  });
  after(async () => { if (s) await stopRealServer(s.server); });

  it('starts 4 interactive requests before the 56 normal and background ones queued ahead of them', async () => {
    const started: string[] = [];
    const blockers = range(4).map((i) => blocker(s.url, () => started.push(`blocker ${i}`)));
    const queued: OpenStream[] = [];
    try {
      await Promise.all(blockers.map((b) => b.first));
      // One token each: a stream's first frame is also its last, which keeps the 64 streams short.
      const one = { prompt: PROMPT, max_tokens: 1, ignore_eos: true, temperature: 0 };
      queued.push(...range(56).map((i) => openStream(s.url, one, headers(i % 2 ? 'normal' : 'background'), () => started.push(`lower ${i}`))));
      await waitForQueue(s.url, 4, 56);
      queued.push(...range(4).map((i) => openStream(s.url, one, headers('interactive'), () => started.push(`interactive ${i}`))));
      await waitForQueue(s.url, 4, 60);
      assert.equal(started.length, 4, 'only the blockers have started');
    } finally {
      for (const b of blockers) b.abort();
    }
    const results = await Promise.all(queued.map((x) => x.done));
    assert.deepEqual(started.slice(4, 8).sort(), range(4).map((i) => `interactive ${i}`), `order of first frames: ${started.join(', ')}`);
    assert.equal(new Set(started).size, 64, 'each of the 64 streams started once');
    for (const r of results) assert.deepEqual([r.status, r.finish, r.tokens], [200, 'length', 1]);
    assert.deepEqual((await Promise.all(blockers.map((b) => b.done))).map((r) => r.aborted), [true, true, true, true]);
  });
});

async function assertOverloaded(res: Response): Promise<void> {
  assert.equal(res.status, 429);
  assert.equal(res.headers.get('retry-after'), '1');
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  assert.deepEqual(await res.json(), {
    error: { message: 'The server is busy: 3 requests are already waiting. Retry shortly.', type: 'overloaded', param: null, code: 'overloaded' },
  });
}

describe('real server: 429 past the waiting bound (max batch 1, max waiting 3)', function () {
  this.timeout(120_000);
  let s: RealServer;
  before(async () => {
    s = await startRealServer(await ensureFixtureModel('llama', 'tiny'), ['--max-batch', '1', '--max-waiting', '3']);
  });
  after(async () => { if (s) await stopRealServer(s.server); });

  it('answers every request past 3 waiting with 429 overloaded and Retry-After: 1, and completes the 3 queued', async () => {
    const hold = blocker(s.url);
    const body = { prompt: PROMPT, max_tokens: 3, ignore_eos: true, temperature: 0 };
    const queued: Promise<Response>[] = [];
    // A stream's answer comes at once, 200 or not; a wrongly queued one is closed in `finally`.
    const over = new AbortController();
    try {
      await hold.first;
      queued.push(...range(3).map(() => post(`${s.url}/v1/completions`, body, AUTH)));
      await waitForQueue(s.url, 1, 3);
      await assertOverloaded(await post(`${s.url}/v1/completions`, { ...body, stream: true }, AUTH, over.signal));
      await assertOverloaded(await post(`${s.url}/v1/completions`, body, AUTH, over.signal));
      await waitForQueue(s.url, 1, 3);
    } finally {
      over.abort();
      hold.abort();
    }
    for (const res of await Promise.all(queued)) {
      assert.equal(res.status, 200);
      const json = await res.json();
      assert.deepEqual([json.choices[0].finish_reason, json.usage.completion_tokens], ['length', 3]);
    }
    assert.equal((await hold.done).aborted, true);
    const page = await scrape(s.url);
    assert.equal(metric(page, 'mlx_batch_http_requests_total{route="/v1/completions",code="429"}'), 2);
    assert.equal(metric(page, 'mlx_batch_errors_total{type="overloaded"}'), 2);
    assert.equal(metric(page, 'mlx_batch_requests_finished_total{reason="length"}'), 3);
    assert.equal(metric(page, 'mlx_batch_requests_finished_total{reason="abort"}'), 1);
  });
});
