// MLX's CPU buffers and glibc's malloc on a real server process, started with the environment the
// extension's launch gives it (src/shared/malloc-tunables.ts): the memory a burst of prompts freed
// is still held when the burst ends (kept for the next pass), and a server idle a while hands it
// back to the system. Whether the tunables reached the server is the `ready` event's
// kernels.mallocKeep (kernel-switches.test.ts); what keeping buys is measured by the benchmarks
// (docs/PERFORMANCE.md): page faults per pass are too erratic with glibc's moving threshold for a
// test to compare against it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { KEPT_MEMORY_IDLE_MS } from '../../src/server/engine/mlx-engine';
import { ensureFixtureModel } from '../../src/server/fixtures';
import { post } from '../http/helpers/harness';
import { AUTH, startRealServer, stopRealServer, waitForQueue, type RealServer } from './helpers/real-server';

const linux = process.platform === 'linux';
const MiB = 2 ** 20;

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
async function steadyServer(): Promise<RealServer> {
  const s = await startRealServer(model);
  for (let i = 0; i < 8; i++) await burst(s, 1000 + 4 * i);
  await waitForQueue(s.url, 0, 0);
  return s;
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
