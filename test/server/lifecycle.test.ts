// The server process's life, in a real child process: stdout events, token file, refusing a
// remote bind, SIGTERM draining, exit with the parent (the watchdog's kill when the main thread
// cannot exit), and a model that fails to load.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { metric, post, sseJson } from '../http/helpers/harness';
import { waitFor } from '../helpers/wait-for';
import { compiled, isError, isListening, isReady, spawnServer, type SpawnedServer } from './helpers/spawn-server';

const SCRIPT = compiled('test', 'server', 'helpers', 'fake-server-main.js');
const TOKEN = 'lifecycle-token-0123456789';

function tokenFile(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlx-batch-token-'));
  const file = path.join(dir, 'token');
  fs.writeFileSync(file, `${TOKEN}\n`, { mode: 0o600 });
  return file;
}

const auth = { authorization: `Bearer ${TOKEN}` };

/** Resolves once the server has logged that it is shutting down after `signal` (it is draining then). */
function shuttingDown(s: SpawnedServer, signal: string): Promise<void> {
  return waitFor(() => s.stderr().includes(`shutting down (${signal})`), `"shutting down (${signal})" on stderr`, { state: s.stderr });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('server process: lifecycle', function () {
  this.timeout(60_000);

  it('announces listening, loading and ready on stdout, and serves with the token', async () => {
    const s = spawnServer(SCRIPT, ['--model', 'fake-model', '--port', '0', '--token-file', tokenFile()]);
    try {
      const listening = await s.event(isListening);
      assert.match(listening.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(listening.model, 'fake-model');
      const ready = await s.event(isReady);
      assert.deepEqual(ready, { event: 'ready', model: 'fake-model', contextLength: 512 });
      const loading = s.events.filter((e) => e.event === 'loading');
      assert.ok(loading.length >= 3);
      assert.ok(loading.every((e, i) => i === 0 || (e as { progress: number }).progress >= (loading[i - 1] as { progress: number }).progress));
      assert.equal((await fetch(`${listening.url}/health`)).status, 401);
      const health = await fetch(`${listening.url}/health`, { headers: auth });
      assert.deepEqual(await health.json(), { status: 'ready', model: 'fake-model' });
      assert.ok(s.stdout.every((l) => JSON.parse(l)), 'stdout holds only JSON event lines');
      assert.match(s.stderr(), /listening on http:\/\/127\.0\.0\.1:\d+ \(bearer token required\)/);
    } finally {
      s.child.kill('SIGKILL');
      await s.exit;
    }
  });

  it('drains on SIGTERM: running streams finish, new requests are refused, exit 0', async () => {
    const s = spawnServer(SCRIPT, ['--model', 'm', '--token-file', tokenFile()], { FAKE_STEP_MS: '10' });
    const { url } = await s.event(isListening);
    await s.event(isReady);
    const res = await post(`${url}/v1/completions`, { prompt: 'a', max_tokens: 60, stream: true }, auth);
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    assert.match(first, /^data: /);
    s.child.kill('SIGTERM');
    await shuttingDown(s, 'SIGTERM');
    const refused = await post(`${url}/v1/completions`, { prompt: 'a', max_tokens: 1 }, auth).then((r) => r.status, () => 'refused');
    assert.ok(refused === 503 || refused === 'refused', String(refused));
    let rest = first;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    const frames = rest.split('\n\n').filter((f) => f.startsWith('data: ')).map((f) => f.slice(6));
    assert.equal(frames.at(-1), '[DONE]');
    assert.equal(sseJson(frames).map((c) => c.choices[0].text).join('').length, 60, 'the running stream finished');
    assert.deepEqual(await s.exit, { code: 0, signal: null });
    assert.match(s.stderr(), /shutting down \(SIGTERM\)/);
  });

  it('exits when its parent process dies', async () => {
    // The extension's stdio: stdin, stdout and stderr are pipes to the parent.
    const launcher = `const { spawn } = require('node:child_process');
      const c = spawn(process.execPath, [${JSON.stringify(SCRIPT)}, '--model', 'm'], { stdio: ['pipe', 'pipe', 'pipe'] });
      c.stderr.on('data', () => {});
      c.stdout.on('data', (d) => { if (String(d).includes('"ready"')) console.log('PID ' + c.pid); });
      setInterval(() => {}, 1000);`;
    const parent = spawn(process.execPath, ['-e', launcher], { stdio: ['ignore', 'pipe', 'ignore'] });
    const pid = await new Promise<number>((resolve) => parent.stdout.on('data', (d: Buffer) => {
      const m = /PID (\d+)/.exec(String(d));
      if (m) resolve(Number(m[1]));
    }));
    assert.ok(alive(pid));
    parent.kill('SIGKILL');
    await waitFor(() => !alive(pid), 'the orphaned server to exit');
  });

  it('exits when the process named by --parent-pid is gone', async () => {
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    const s = spawnServer(SCRIPT, ['--model', 'm', '--parent-pid', String(sleeper.pid)]);
    await s.event(isReady);
    sleeper.kill('SIGKILL');
    const exit = await s.exit;
    assert.equal(exit.code, 0);
    assert.match(s.stderr(), /parent process is gone/);
  });

  it('is killed by its watchdog when its main thread never comes back after the parent is gone', async () => {
    // The main thread spins for ever, as in a step that never ends: only the watchdog thread can
    // end the process, so its exit shows the kill and no timing is involved.
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    const watched = `const { watchParent } = require(${JSON.stringify(compiled('src', 'cli', 'server', 'parent-watch.js'))});
      watchParent({ parentPid: ${sleeper.pid}, watchStdin: false }, () => {}, { info() {}, warn() {}, error() {} });
      console.log('blocking');
      for (;;);`;
    const child = spawn(process.execPath, ['-e', watched], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
    try {
      await new Promise<void>((r) => child.stdout.once('data', () => r()));
      sleeper.kill('SIGKILL');
      await waitFor(() => child.exitCode !== null || child.signalCode !== null, 'the blocked process to be killed by its watchdog', { timeoutMs: 20_000 });
      assert.deepEqual(await exit, { code: null, signal: 'SIGKILL' });
    } finally {
      child.kill('SIGKILL');
      sleeper.kill('SIGKILL');
    }
  });

  it('refuses a non-loopback address without --allow-remote, and warns with it', async () => {
    const refused = spawnServer(SCRIPT, ['--model', 'm', '--host', '0.0.0.0']);
    assert.equal((await refused.exit).code, 2);
    assert.match(refused.stderr(), /--allow-remote/);
    const remote = spawnServer(SCRIPT, ['--model', 'm', '--host', '0.0.0.0', '--allow-remote']);
    try {
      const { url } = await remote.event(isListening);
      assert.match(url, /^http:\/\/0\.0\.0\.0:\d+$/);
      assert.match(remote.stderr(), /reachable from other machines WITHOUT any authentication/);
    } finally {
      remote.child.kill('SIGKILL');
      await remote.exit;
    }
  });

  it('reports a model that fails to load and exits 1', async () => {
    const s = spawnServer(SCRIPT, ['--model', 'fail']);
    const { url } = await s.event(isListening);
    const err = await s.event(isError);
    assert.equal(err.type, 'model_not_found');
    assert.match(err.message, /no model named "fail"/);
    assert.equal((await s.exit).code, 1);
    assert.ok(url);
  });

  it('rejects bad arguments with exit code 2', async () => {
    for (const args of [['--port', '70000', '--model', 'm'], ['--model', 'm', '--max-batch', '0'], ['--bogus'], ['--model']]) {
      const s = spawnServer(SCRIPT, args);
      assert.equal((await s.exit).code, 2, args.join(' '));
    }
  });
});


describe('server process: draining', function () {
  this.timeout(60_000);

  /**
   * A server with one row and slow steps, a running stream and a queued one. Speculation is off:
   * the test engine's alphabet is perfectly predictable, and these tests need one token per step.
   */
  async function busy(extra: string[] = [], runningTokens = 40) {
    const s = spawnServer(SCRIPT, ['--model', 'm', '--token-file', tokenFile(), '--max-batch', '1', '--speculative', 'off', ...extra], { FAKE_STEP_MS: '10' });
    const { url } = await s.event(isListening);
    await s.event(isReady);
    const run = (n: number) => post(`${url}/v1/completions`, { prompt: 'a', max_tokens: n }, auth)
      .then(async (r) => ({ status: r.status, text: r.status === 200 ? (await r.json()).choices[0].text as string : '' }), () => ({ status: 0, text: '' }));
    const counts = async () => {
      const page = await (await fetch(`${url}/metrics`, { headers: auth })).text();
      return { running: metric(page, 'mlx_batch_requests_running'), waiting: metric(page, 'mlx_batch_requests_waiting') };
    };
    const running = run(runningTokens);
    await waitFor(async () => (await counts()).running === 1, 'the first request to run');
    const queued = run(20);
    await waitFor(async () => (await counts()).waiting === 1, 'the second request to wait for the row');
    return { s, url, running, queued };
  }

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal}: the running and the queued request both finish, then exit 0`, async () => {
      const { s, running, queued } = await busy();
      s.child.kill(signal);
      const [a, b] = await Promise.all([running, queued]);
      assert.deepEqual([a.status, a.text.length, b.status, b.text.length], [200, 40, 200, 20]);
      assert.deepEqual(await s.exit, { code: 0, signal: null });
      assert.match(s.stderr(), new RegExp(`shutting down \\(${signal}\\): draining for up to 30s`));
    });
  }

  it('--drain-timeout expires: the rest are closed and the server exits', async () => {
    // 300 tokens of 10 ms: 3 s of work, more than the 1 s the drain may take.
    const { s, running } = await busy(['--drain-timeout', '1'], 300);
    s.child.kill('SIGTERM');
    const cut = await running;
    assert.ok(cut.status !== 200 || cut.text.length < 300, `the running request was not cut: ${JSON.stringify(cut)}`);
    const exit = await s.exit;
    assert.equal(exit.code, 0);
    assert.match(s.stderr(), /drain timeout: closing the remaining requests/);
  });

  it('a second signal while draining exits at once with code 1', async () => {
    const { s } = await busy();
    s.child.kill('SIGTERM');
    await shuttingDown(s, 'SIGTERM');
    s.child.kill('SIGTERM');
    assert.deepEqual(await s.exit, { code: 1, signal: null });
    assert.match(s.stderr(), /SIGTERM again: exiting now/);
  });
});
