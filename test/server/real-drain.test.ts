// Draining in the real server process on the tiny llama fixture: on SIGTERM the running stream
// and the queued request both finish with every token they asked for, a new request is refused,
// and the process exits 0. (test/server/lifecycle.test.ts checks the same over a fake engine,
// with the drain timeout and a second signal; here the drain timeout is long enough to be no
// factor.)
import assert from 'node:assert/strict';
import { ensureFixtureModel } from '../../src/server/fixtures';
import { post } from '../http/helpers/harness';
import { waitFor } from '../helpers/wait-for';
import { AUTH, startRealServer, waitForQueue, type RealServer } from './helpers/real-server';
import { openStream } from './helpers/streams';

const PROMPT = 'function quickSort(arr) {';

describe('real server: SIGTERM drains the running and the queued request (max batch 1)', function () {
  this.timeout(120_000);
  let s: RealServer | undefined;
  after(() => {
    if (s && s.server.child.exitCode === null) s.server.child.kill('SIGKILL');
  });

  it('both finish with all their tokens, a new request is refused, exit 0', async () => {
    s = await startRealServer(await ensureFixtureModel('llama', 'tiny'), ['--max-batch', '1', '--drain-timeout', '300']);
    const url = s.url;
    const body = (n: number) => ({ prompt: PROMPT, max_tokens: n, ignore_eos: true, temperature: 0 });
    const running = openStream(url, body(300), AUTH);
    await running.first;
    const queued = openStream(url, body(20), AUTH);
    await waitForQueue(url, 1, 1);
    s.server.child.kill('SIGTERM');
    await waitFor(() => s!.server.stderr().includes('shutting down (SIGTERM)'), '"shutting down (SIGTERM)" on stderr', { timeoutMs: 60_000, state: s.server.stderr });
    const refused = await post(`${url}/v1/completions`, body(1), AUTH).then((r) => r.status, () => 'refused');
    assert.ok(refused === 503 || refused === 'refused', `a request during the drain got ${refused}`);
    const [a, b] = await Promise.all([running.done, queued.done]);
    assert.deepEqual([a.status, a.finish, a.tokens, b.status, b.finish, b.tokens], [200, 'length', 300, 200, 'length', 20]);
    assert.deepEqual(await s.server.exit, { code: 0, signal: null });
  });
});
