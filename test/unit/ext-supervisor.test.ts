import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decideAfterExit, RestartPolicy } from '../../src/extension/supervisor/restart-policy';
import { launchSpec, modelArgument } from '../../src/extension/supervisor/server-args';
import { LineSplitter, parseServerEvent } from '../../src/extension/supervisor/server-events';
import { ServerProcess } from '../../src/extension/supervisor/server-process';
import { writeTokenFile } from '../../src/extension/supervisor/token-file';
import { sanitizeSettings } from '../../src/extension/settings';

const settings = (o: Record<string, unknown> = {}) => sanitizeSettings((k) => o[k]);

function fakeServer(body: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlx-ext-'));
  const file = path.join(dir, 'server.js');
  fs.writeFileSync(file, body);
  return file;
}

describe('extension server launch', () => {
  it('passes the settings to the server as arguments, with the shipped model by default', () => {
    const spec = launchSpec({ settings: settings({ 'server.maxBatch': 4, 'server.kvBudget': 2048, 'server.batching': false, 'server.speculative': 'off', 'completion.context.enabled': false }), extensionPath: '/ext', tokenFile: '/t/tok', execPath: '/bin/electron', isElectron: true, env: { A: '1' } });
    assert.equal(spec.command, '/bin/electron');
    assert.equal(spec.env.ELECTRON_RUN_AS_NODE, '1');
    assert.equal(spec.env.A, '1');
    // glibc's malloc tunables for MLX's CPU buffers: read only when the server starts, so the launch sets them.
    const tunables = (spec.env.GLIBC_TUNABLES ?? '').split(':');
    if (process.platform === 'linux') {
      for (const t of ['glibc.malloc.hugetlb=1', 'glibc.malloc.arena_max=1', 'glibc.malloc.mmap_threshold=33554432', 'glibc.malloc.trim_threshold=268435456']) assert.ok(tunables.includes(t), `${t} in ${spec.env.GLIBC_TUNABLES}`);
    } else {
      assert.equal(spec.env.GLIBC_TUNABLES, undefined);
    }
    assert.deepEqual(spec.args, ['--expose-gc', path.join('/ext', 'dist', 'server.js'), '--model', path.join('/ext', 'models', 'default'), '--host', '127.0.0.1', '--port', '0', '--max-batch', '4', '--token-file', '/t/tok', '--watch-stdin', '--kv-budget', '2048', '--no-batching', '--speculative', 'off']);
    const withContext = launchSpec({ settings: settings({}), extensionPath: '/ext', tokenFile: '/t', execPath: '/bin/node', isElectron: false, env: {} });
    assert.deepEqual(withContext.args.slice(-2), ['--cache-reuse', '64'], 'repository context on (the default): runs moved up are reused');
    const own = launchSpec({ settings: settings({ model: 'mlx-community/X', 'server.nodePath': '/usr/bin/node' }), extensionPath: '/ext', tokenFile: '/t', execPath: '/bin/electron', isElectron: true, env: {} });
    assert.equal(own.command, '/usr/bin/node');
    assert.equal(own.env.ELECTRON_RUN_AS_NODE, undefined);
    assert.equal(modelArgument(settings({ model: 'mlx-community/X' }), '/ext'), 'mlx-community/X');
  });

  it('passes mlxBatch.server.device as --device, and nothing for auto or a value it does not know', () => {
    const args = (device: unknown) => launchSpec({ settings: settings({ 'server.device': device }), extensionPath: '/ext', tokenFile: '/t', execPath: '/bin/node', isElectron: false, env: {} }).args;
    assert.deepEqual(args('cpu').slice(args('cpu').indexOf('--device'), args('cpu').indexOf('--device') + 2), ['--device', 'cpu']);
    assert.deepEqual(args('gpu').slice(args('gpu').indexOf('--device'), args('gpu').indexOf('--device') + 2), ['--device', 'gpu']);
    for (const other of [undefined, 'auto', 'metal', 1]) assert.ok(!args(other).includes('--device'), String(other));
  });

  it('writes a fresh token readable by the user only', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlx-tok-'));
    const a = writeTokenFile(dir);
    const b = writeTokenFile(dir);
    assert.notEqual(a.token, b.token);
    assert.match(b.token, /^[0-9a-f]{64}$/);
    assert.equal(fs.readFileSync(b.file, 'utf8').trim(), b.token);
    if (process.platform !== 'win32') assert.equal(fs.statSync(b.file).mode & 0o777, 0o600);
  });

  it('parses server events and splits lines across chunks', () => {
    assert.deepEqual(parseServerEvent('{"event":"listening","url":"http://127.0.0.1:5","model":"m"}'), { event: 'listening', url: 'http://127.0.0.1:5', model: 'm' });
    assert.deepEqual(parseServerEvent('{"event":"loading","progress":0.25,"message":"weights"}'), { event: 'loading', progress: 0.25, message: 'weights' });
    assert.equal(parseServerEvent('loading weights...'), undefined);
    assert.equal(parseServerEvent('{"event":"listening"}'), undefined);
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l));
    s.push('a\r\nb');
    s.push('c\nd');
    s.flush();
    assert.deepEqual(lines, ['a', 'bc', 'd']);
  });

  it('backs off exponentially, gives up after N restarts, and forgives a long run', () => {
    const p = new RestartPolicy(3, 100, 1000, 60_000);
    assert.deepEqual([p.next(10), p.next(10), p.next(10), p.next(10)], [100, 200, 400, undefined]);
    assert.equal(p.next(120_000), 100);
  });

  it('starts a process, reads its listening line and progress, and stops it', async () => {
    const script = fakeServer(`
      console.log(JSON.stringify({ event: 'loading', progress: 0.5, message: 'half' }));
      console.error('log on stderr');
      setTimeout(() => console.log(JSON.stringify({ event: 'listening', url: 'http://127.0.0.1:1234/', model: 'tiny' })), 20);
      process.on('SIGTERM', () => { console.error('draining'); process.exit(0); });
      setInterval(() => {}, 1000);`);
    const logs: string[] = [];
    const progress: number[] = [];
    const p = new ServerProcess({ command: process.execPath, args: [script], env: process.env }, { log: (l) => logs.push(l), loading: (x) => progress.push(x) });
    assert.deepEqual(await p.started, { url: 'http://127.0.0.1:1234', model: 'tiny' });
    assert.deepEqual(progress, [0.5]);
    await p.stop();
    const exit = await p.exited;
    assert.equal(exit.code, 0);
    assert.ok(p.stopRequested);
    assert.ok(logs.includes('log on stderr') && logs.includes('draining'));
  });

  it('reports why a server died before it was ready', async () => {
    const script = fakeServer(`console.log(JSON.stringify({ event: 'error', message: 'model folder /x does not exist', type: 'model_not_found' })); process.exit(1);`);
    const p = new ServerProcess({ command: process.execPath, args: [script], env: process.env }, { log: () => undefined });
    await assert.rejects(p.started, /model folder \/x does not exist/);
    const exit = await p.exited;
    assert.equal(exit.code, 1);
    assert.equal(p.stopRequested, false);
    const missing = new ServerProcess({ command: '/nonexistent/node', args: [], env: process.env }, { log: () => undefined });
    await assert.rejects(missing.started, /cannot start \/nonexistent\/node/);
  });

  it('shows a model too big for the machine once, with its actions, instead of restarting into it', async () => {
    const message = 'big does not fit in the memory available: the weights alone take more than there is. Weights: 28.0 GB as held';
    const script = fakeServer(`console.log(JSON.stringify({ event: 'listening', url: 'http://127.0.0.1:1', model: 'big' }));
      console.log(JSON.stringify({ event: 'error', message: ${JSON.stringify(message)}, type: 'insufficient_memory' })); process.exit(1);`);
    const exit = await new ServerProcess({ command: process.execPath, args: [script], env: process.env }, { log: () => undefined }).exited;
    assert.deepEqual([exit.code, exit.reported, exit.errorType, exit.ready, exit.reason], [1, true, 'insufficient_memory', false, message]);
    const policy = new RestartPolicy(3, 100);
    assert.deepEqual(decideAfterExit(exit, policy, 50), { restart: false, message, actions: ['Select Model', 'Use Remote Server', 'Show Logs'] });
    assert.equal(policy.restarts, 0, 'no restart was spent on it');
  });

  it('shows a node-mlx that cannot load here once, with no restart and no retry', async () => {
    const message = "node-mlx's native module /x/mlx.node was built for another platform or CPU: it is a macOS arm64 binary (Mach-O), and this machine is linux-x64";
    const script = fakeServer(`console.log(JSON.stringify({ event: 'listening', url: 'http://127.0.0.1:1', model: 'm' }));
      console.log(JSON.stringify({ event: 'error', message: ${JSON.stringify(message)}, type: 'mlx_unavailable' })); process.exit(1);`);
    const exit = await new ServerProcess({ command: process.execPath, args: [script], env: process.env }, { log: () => undefined }).exited;
    const policy = new RestartPolicy(3, 100);
    assert.deepEqual(decideAfterExit(exit, policy, 50), { restart: false, message, actions: ['Use Remote Server', 'Show Logs'] });
    assert.equal(policy.restarts, 0);
  });

  it('does not retry a model that failed to load, nor a server killed while loading; retries a crash', async () => {
    const policy = new RestartPolicy(2, 100);
    const exit = (o: Partial<Parameters<typeof decideAfterExit>[0]>) => ({ reason: 'why', reported: false, signal: null, ready: false, ...o });
    assert.deepEqual(decideAfterExit(exit({ reported: true, errorType: 'unsupported_model' }), policy, 10),
      { restart: false, message: 'why', actions: ['Select Model', 'Show Logs', 'Retry'] });
    assert.deepEqual(decideAfterExit(exit({ reported: true, errorType: 'internal' }), policy, 10), { restart: false, message: 'why', actions: ['Show Logs', 'Retry'] });
    // The kernel's out-of-memory killer sends SIGKILL: a killed load would be killed again.
    const script = fakeServer(`console.log(JSON.stringify({ event: 'loading', progress: 0.3, message: 'weights' })); process.kill(process.pid, 'SIGKILL');`);
    const killed = await new ServerProcess({ command: process.execPath, args: [script], env: process.env }, { log: () => undefined }).exited;
    assert.deepEqual([killed.signal, killed.ready, killed.reported], ['SIGKILL', false, false]);
    const d = decideAfterExit(killed, policy, 10);
    assert.ok(!d.restart && /killed \(SIGKILL\) while loading the model, most likely because the machine ran out of memory/.test(d.message));
    assert.deepEqual(!d.restart && d.actions, ['Select Model', 'Use Remote Server', 'Show Logs']);
    assert.equal(policy.restarts, 0);
    // Killed or crashed once it was serving: restarted with back-off, until the budget is spent.
    assert.deepEqual(decideAfterExit(exit({ signal: 'SIGKILL', ready: true }), policy, 10), { restart: true, delayMs: 100 });
    assert.deepEqual(decideAfterExit(exit({ ready: true }), policy, 10), { restart: true, delayMs: 200 });
    assert.deepEqual(decideAfterExit(exit({ ready: true }), policy, 10), { restart: false, message: 'the server keeps stopping (2 restarts): why', actions: ['Show Logs', 'Retry'] });
  });

  it('kills a server that ignores SIGTERM after the grace period', async () => {
    const script = fakeServer(`process.on('SIGTERM', () => {}); console.log(JSON.stringify({ event: 'listening', url: 'http://x', model: '' })); setInterval(() => {}, 1000);`);
    const p = new ServerProcess({ command: process.execPath, args: [script], env: process.env }, { log: () => undefined });
    await p.started;
    await p.stop(200);
    assert.equal((await p.exited).signal, 'SIGKILL');
  });
});
