// The server never outlives its parent. Real `mlx-batch serve` processes on random-weight models,
// started with the extension's stdio (stdin, stdout and stderr pipes) by a parent that is then
// SIGKILLed while the model loads, while idle, during a long prefill and while streaming, and
// started by the extension's own spawn code in a stand-in extension host that is SIGKILLed: each
// time the server is gone without draining its readers and its port refuses connections. Servers
// spawned by the test itself show that the exit is the server's own (code 0), not its watchdog's
// kill.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ensureFixtureModel } from '../../src/server/fixtures';
import { DEFAULT_DRAIN_TIMEOUT_S } from '../../src/shared/server-defaults';
import { post } from '../http/helpers/harness';
import { waitFor } from '../helpers/wait-for';
import type { ParentPlan } from './helpers/parent-main';
import { compiled, isListening, isReady, spawnServer, type SpawnedServer } from './helpers/spawn-server';

const CLI = compiled('src', 'cli', 'main.js');
const SERVER = compiled('src', 'cli', 'server', 'main.js');
const PARENT = compiled('test', 'server', 'helpers', 'parent-main.js');
const HOST = compiled('test', 'server', 'helpers', 'extension-host-main.js');
// Gone "at once" means without draining for its readers (up to the drain timeout) and without
// waiting for the work in hand. Half the drain timeout is a hang check a loaded machine does not
// reach (the watchdog polls every 200 ms and kills 1 s after telling the main thread). That the
// watchdog kills a main thread held by a step is shown without timing in lifecycle.test.ts.
const EXIT_LIMIT_MS = (DEFAULT_DRAIN_TIMEOUT_S * 1000) / 2;
const EXIT_LIMIT = `half the ${DEFAULT_DRAIN_TIMEOUT_S} s drain timeout`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Alive and not a zombie waiting to be reaped. */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  if (process.platform !== 'linux') return true;
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** User plus system CPU seconds the process has used (Linux). */
function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function refused(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(Number(new URL(url).port), '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', (e) => resolve((e as NodeJS.ErrnoException).code === 'ECONNREFUSED'));
  });
}

/** The process has exited (a zombie at most) and its port is closed, within the limit from `since`. */
async function assertGone(pid: number, url: string, since: number): Promise<void> {
  // A killed process shows as a zombie while its other threads still exit and hold its files.
  await waitFor(async () => !running(pid) && (await refused(url)), `the server (pid ${pid}) to exit and close ${url} after its parent died`, {
    timeoutMs: EXIT_LIMIT_MS + 5000,
    state: () => ({ running: running(pid), ms: Date.now() - since }),
  });
  const took = Date.now() - since;
  assert.ok(took <= EXIT_LIMIT_MS, `the server took ${took} ms to exit and close its port, more than ${EXIT_LIMIT}`);
}

/** A process that prints one fact per line; `line` waits for the first line matching `re`. */
interface Launched {
  child: ChildProcess;
  lines: string[];
  line(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** SIGKILLs it and returns the time of the kill. */
  kill(): number;
}

const strays = new Set<number>();

function launch(script: string, argv: string[]): Launched {
  const child = spawn(process.execPath, [script, ...argv], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  const waiters: (() => void)[] = [];
  let rest = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop() ?? '';
    for (const l of parts) {
      lines.push(l);
      const pid = /^PID (\d+)$/.exec(l);
      if (pid) strays.add(Number(pid[1]));
    }
    for (const w of waiters.splice(0)) w();
  });
  child.once('exit', () => {
    for (const w of waiters.splice(0)) w();
  });
  const line = (re: RegExp, timeoutMs = 120_000) => new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no line matching ${re} within ${timeoutMs} ms; got:\n${lines.join('\n')}`)), timeoutMs);
    const check = () => {
      for (const l of lines) {
        const m = re.exec(l);
        if (m) {
          clearTimeout(timer);
          return resolve(m);
        }
      }
      if (child.exitCode !== null || child.signalCode !== null) {
        clearTimeout(timer);
        return reject(new Error(`${path.basename(script)} exited; got:\n${lines.join('\n')}`));
      }
      waiters.push(check);
    };
    check();
  });
  const kill = () => {
    child.kill('SIGKILL');
    return Date.now();
  };
  return { child, lines, line, kill };
}

/** A parent process (helpers/parent-main.ts) that runs `mlx-batch serve` with the extension's stdio. */
function underParent(model: string, requests?: ParentPlan['requests']): Launched & { pid: Promise<number>; url: Promise<string> } {
  const plan: ParentPlan = { command: process.execPath, args: ['--expose-gc', CLI, 'serve', '--model', model, '--port', '0'], requests };
  const p = launch(PARENT, [JSON.stringify(plan)]);
  return {
    ...p,
    pid: p.line(/^PID (\d+)$/).then((m) => Number(m[1])),
    url: p.line(/^EVENT \{"event":"listening","url":"([^"]+)"/).then((m) => m[1]),
  };
}

/** Reads a response body to its end or failure (the server went away mid-stream); true if it ended with [DONE]. */
async function readAll(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<boolean> {
  let text = '';
  try {
    for (let r = await reader.read(); !r.done; r = await reader.read()) text += Buffer.from(r.value).toString();
  } catch {
    // the connection was reset
  }
  return text.includes('data: [DONE]');
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, sleep(ms).then(() => { throw new Error(`${what}: nothing within ${ms} ms`); })]);
}

/** Words that make a prompt of a few thousand tokens. */
function longPrompt(words: number): string {
  return Array.from({ length: words }, (_, i) => `w${(i * 7919) % 1009}`).join(' ');
}

describe('server process: never outlives its parent', function () {
  this.timeout(240_000);
  let small: string;
  let big: string;

  before(async function () {
    this.timeout(900_000);
    small = await ensureFixtureModel('llama', 'small');
    big = await ensureFixtureModel('qwen2', '0.5b');
  });

  afterEach(() => {
    for (const pid of strays) if (running(pid)) process.kill(pid, 'SIGKILL');
    strays.clear();
  });

  it('exits at once when its parent is killed while the model loads', async () => {
    const p = underParent(big);
    const [pid, url] = [await p.pid, await p.url];
    await p.line(/^EVENT \{"event":"loading"/);
    const t0 = p.kill();
    assert.ok(!p.lines.some((l) => l.includes('"event":"ready"')), 'killed before the model was ready');
    await assertGone(pid, url, t0);
  });

  it('exits at once when its parent is killed while it idles after ready', async () => {
    const p = underParent(small);
    const [pid, url] = [await p.pid, await p.url];
    await p.line(/^EVENT \{"event":"ready"/);
    // Idles a moment after ready, the state under test: the wait cannot help the exit checks pass.
    await sleep(300);
    await assertGone(pid, url, p.kill());
  });

  it('exits at once when its parent is killed during a long prefill, as a step begins', async () => {
    // Two prompts of about 1,500 tokens each on the 0.5b shape: one step computes two 128-token
    // chunks, evaluated 4 layers at a time, each holding the main thread for a few hundred ms
    // (an idle server answers /health in a few ms); the whole prefill takes tens of seconds.
    const prompt = longPrompt(700);
    const p = underParent(big, [{ prompt, max_tokens: 8 }, { prompt: `${prompt} x`, max_tokens: 8 }]);
    const [pid, url] = [await p.pid, await p.url];
    await p.line(/^EVENT \{"event":"ready"/);
    // A /health answer that waited for evaluation comes between two of its parts: after the
    // third, kill as the next begins.
    for (let held = 0, start = Date.now(); held < 3;) {
      const t = Date.now();
      await fetch(`${url}/health`).catch(() => undefined);
      if (Date.now() - t > 100) held += 1;
      assert.ok(Date.now() - start < 120_000, 'the prefill steps did not hold the server');
      await sleep(20);
    }
    const t0 = p.kill();
    assert.ok(!p.lines.some((l) => l.startsWith('STREAMING')), 'killed before the first token');
    await assertGone(pid, url, t0);
  });

  it('exits at once when its parent is killed while it streams tokens, to the parent and to another client', async () => {
    const p = underParent(small, [{ prompt: 'def main():', max_tokens: 3000 }]);
    const [pid, url] = [await p.pid, await p.url];
    await p.line(/^STREAMING 0$/);
    // Another client, still reading when the parent dies: the server must not drain for it.
    const res = await post(`${url}/v1/completions`, { prompt: 'class A:', max_tokens: 3000, stream: true });
    const reader = res.body!.getReader();
    assert.equal((await reader.read()).done, false);
    await assertGone(pid, url, p.kill());
    assert.equal(await withTimeout(readAll(reader), 2000, 'the end of the other client\'s stream'), false, 'the other client\'s stream was cut, not drained');
  });

  it('exits at once when the extension host that started it is killed mid-stream', async () => {
    // The extension's own spawn path (launchSpec + ServerProcess) in a plain node process;
    // its dist/server.js runs the freshly compiled server entry.
    const ext = fs.mkdtempSync(path.join(os.tmpdir(), 'mlx-batch-ext-'));
    fs.mkdirSync(path.join(ext, 'dist'));
    fs.writeFileSync(path.join(ext, 'dist', 'server.js'), `require(${JSON.stringify(SERVER)});\n`);
    const host = launch(HOST, [ext, small]);
    const pid = Number((await host.line(/^PID (\d+)$/))[1]);
    const url = (await host.line(/^URL (.+)$/))[1];
    await host.line(/^STREAMING$/);
    await assertGone(pid, url, host.kill());
  });

  describe('spawned by the test, which sees how it exits', () => {
    let s: SpawnedServer | undefined;
    afterEach(async () => {
      if (s && s.child.exitCode === null && s.child.signalCode === null) {
        s.child.kill('SIGKILL');
        await s.exit;
      }
      s = undefined;
    });

    it('exits by itself (code 0) without draining when the --parent-pid process dies mid-stream and nobody reads its output', async () => {
      const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 120000)']);
      s = spawnServer(CLI, ['serve', '--model', small, '--parent-pid', String(sleeper.pid)]);
      const { url } = await s.event(isListening, 120_000);
      await s.event(isReady, 120_000);
      const res = await post(`${url}/v1/completions`, { prompt: 'def main():', max_tokens: 3000, stream: true });
      const reader = res.body!.getReader();
      await reader.read();
      // What the parent's death does to the server's pipes: their reader is gone.
      s.child.stdout!.destroy();
      s.child.stderr!.destroy();
      sleeper.kill('SIGKILL');
      const t0 = Date.now();
      assert.deepEqual(await withTimeout(s.exit, EXIT_LIMIT_MS + 5000, 'exit'), { code: 0, signal: null });
      assert.ok(Date.now() - t0 <= EXIT_LIMIT_MS, `took ${Date.now() - t0} ms, more than ${EXIT_LIMIT}`);
      assert.equal(await readAll(reader), false, 'the stream was cut, not drained');
      assert.ok(await refused(url));
    });

    it('exits by itself (code 0) when its stdin pipe closes, with --watch-stdin', async () => {
      s = spawnServer(CLI, ['serve', '--model', small, '--watch-stdin'], {}, 'pipe');
      const { url } = await s.event(isListening, 120_000);
      await s.event(isReady, 120_000);
      s.child.stdin!.end();
      const t0 = Date.now();
      assert.deepEqual(await withTimeout(s.exit, EXIT_LIMIT_MS + 5000, 'exit'), { code: 0, signal: null });
      assert.ok(Date.now() - t0 <= EXIT_LIMIT_MS, `took ${Date.now() - t0} ms, more than ${EXIT_LIMIT}`);
      assert.match(s.stderr(), /parent process is gone \(stdin closed\): exiting without waiting/);
      assert.ok(await refused(url));
    });

    it('keeps serving without spinning once nobody reads its stdout and stderr, and still drains on SIGTERM', async () => {
      s = spawnServer(CLI, ['serve', '--model', small]);
      const { url } = await s.event(isListening, 120_000);
      await s.event(isReady, 120_000);
      s.child.stdout!.destroy();
      s.child.stderr!.destroy();
      // Each toggle logs a line to the dead stderr.
      for (const enabled of [false, true]) assert.equal((await post(`${url}/v1/batching`, { enabled })).status, 200);
      // Sleeps measure what must not happen (spinning on the dead pipes): a spinning server uses
      // about a second of CPU in this second, so waiting cannot make the check pass by luck.
      await sleep(200);
      const pid = s.child.pid!;
      const cpu0 = cpuSeconds(pid);
      await sleep(1000);
      const spent = cpuSeconds(pid) - cpu0;
      assert.ok(spent < 0.3, `${spent.toFixed(2)} s of CPU in 1 s of idling`);
      const health = await fetch(`${url}/health`);
      assert.deepEqual(await health.json(), { status: 'ready', model: 'llama-small' });
      const done = await post(`${url}/v1/completions`, { prompt: 'a', max_tokens: 4 });
      assert.equal(done.status, 200);
      s.child.kill('SIGTERM');
      assert.deepEqual(await withTimeout(s.exit, 15_000, 'exit after SIGTERM'), { code: 0, signal: null });
    });
  });
});
