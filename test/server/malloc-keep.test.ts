// MLX's CPU buffers and glibc's malloc on a real server process, started with the environment the
// extension's launch gives it (src/shared/malloc-tunables.ts): prompt passes one after another
// reuse the pages the previous pass freed (few page faults), where MLX_BATCH_MALLOC_KEEP=0 leaves
// glibc to map its buffers afresh and fault them in again; and a server gone idle hands the memory
// malloc kept back to the system once it has been idle a while (not between keystrokes).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { KEPT_MEMORY_IDLE_MS } from '../../src/server/engine/mlx-engine';
import { ensureFixtureModel } from '../../src/server/fixtures';
import { post } from '../http/helpers/harness';
import { AUTH, startRealServer, stopRealServer, waitForQueue, type RealServer } from './helpers/real-server';

const linux = process.platform === 'linux';
const MiB = 2 ** 20;

/** Minor page faults of a process so far (/proc/PID/stat, field 10). */
function minorFaults(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may hold spaces: count from after it.
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[7]);
}

/** Anonymous resident memory of a process (/proc/PID/status RssAnon). */
function rssAnon(pid: number): number {
  const m = /^RssAnon:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(m, 'RssAnon in /proc/PID/status');
  return Number(m[1]) * 1024;
}

/** A prompt of about 560 tokens whose first line is new, so nothing of it comes from the prefix store. */
function prompt(i: number): string {
  const body = Array.from({ length: 40 }, (_, k) => `  const value${k} = compute(${k}, items[${k}]);`).join('\n');
  return `// pass ${i} ${'#'.repeat(i % 7)}\nfunction run${i}(items) {\n${body}\n}\n`;
}

async function promptPass(s: RealServer, i: number): Promise<void> {
  const res = await post(`${s.url}/v1/completions`, { prompt: prompt(i), max_tokens: 1, temperature: 0 }, AUTH);
  assert.equal(res.status, 200, await res.clone().text());
  await res.json();
}

/** Four prompts at once, as completions and chats share a batch. */
async function burst(s: RealServer, first: number): Promise<void> {
  await Promise.all(Array.from({ length: 4 }, (_, i) => promptPass(s, first + i)));
}

/**
 * A server whose prefix store is full (32 prompts of ~560 tokens past its 16,384), so that what a
 * new prompt adds to the store, an old one gives back: what else a pass allocates is what is measured.
 */
async function steadyServer(env: NodeJS.ProcessEnv = {}): Promise<RealServer> {
  const s = await startRealServer(model, [], env);
  for (let i = 0; i < 8; i++) await burst(s, 1000 + 4 * i);
  await waitForQueue(s.url, 0, 0);
  return s;
}

/** Page faults per burst of four prompts, over `n` bursts one after another. */
async function faultsPerBurst(s: RealServer, n: number): Promise<number> {
  const pid = s.server.child.pid!;
  const before = minorFaults(pid);
  for (let i = 0; i < n; i++) await burst(s, 4 * i);
  return (minorFaults(pid) - before) / n;
}

/** Waits until the server has nothing running and has been idle long enough to hand kept memory back. */
async function idle(s: RealServer): Promise<void> {
  await waitForQueue(s.url, 0, 0);
  await new Promise((resolve) => setTimeout(resolve, KEPT_MEMORY_IDLE_MS + 500));
}

let model: string;

describe('server: malloc keeps the buffers MLX frees (MLX_BATCH_MALLOC_KEEP)', function () {
  this.timeout(300_000);
  let kept: RealServer | undefined;

  before(async function () {
    if (!linux) this.skip();
    model = await ensureFixtureModel('llama', 'small');
    kept = await steadyServer();
  });
  after(async () => { if (kept) await stopRealServer(kept.server); });

  it('prompt passes reuse the pages of the passes before: a third of the page faults, or fewer, of MLX_BATCH_MALLOC_KEEP=0', async () => {
    const withKeep = await faultsPerBurst(kept!, 6);
    const plain = await steadyServer({ MLX_BATCH_MALLOC_KEEP: '0' });
    let without: number;
    try {
      without = await faultsPerBurst(plain, 6);
    } finally {
      await stopRealServer(plain.server);
    }
    assert.ok(withKeep * 3 <= without, `page faults per burst of four prompts: ${withKeep.toFixed(0)} with freed buffers kept, ${without.toFixed(0)} without`);
  });

  it('a server idle a while hands the memory malloc kept back, and keeps it between bursts', async () => {
    const s = kept!;
    const pid = s.server.child.pid!;
    await burst(s, 3000);
    // The burst's answers are in: the engine is idle, and keeps what its passes freed for a while.
    const end = rssAnon(pid);
    await idle(s);
    const after = rssAnon(pid);
    assert.ok(end - after >= 48 * MiB, `anonymous memory ${(end / MiB).toFixed(0)} MiB as the burst ended, ${(after / MiB).toFixed(0)} MiB after ${KEPT_MEMORY_IDLE_MS} ms idle`);
  });
});
