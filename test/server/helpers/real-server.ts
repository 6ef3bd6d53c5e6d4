// The real server process (src/cli/server/main.js as tsc compiled it; dist/server.js bundles the
// same file) on a model folder, with a bearer token: started until `ready`, stopped by SIGTERM.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ServerEvent } from '../../../src/shared/protocol';
import { metric } from '../../http/helpers/harness';
import { waitFor } from '../../helpers/wait-for';
import { compiled, isListening, isReady, spawnServer, type SpawnedServer } from './spawn-server';

export const MAIN = compiled('src', 'cli', 'server', 'main.js');
export const TOKEN = 'real-server-token-0123456789';
export const AUTH = { authorization: `Bearer ${TOKEN}` };

export interface RealServer {
  server: SpawnedServer;
  url: string;
  ready: Extract<ServerEvent, { event: 'ready' }>;
}

export function tokenFile(): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mlx-batch-real-')), 'token');
  fs.writeFileSync(file, TOKEN, { mode: 0o600 });
  return file;
}

/** `extra` flags come after `--max-batch 8`, so they may override it; `env` is added to ours. */
export async function startRealServer(model: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<RealServer> {
  const server = spawnServer(MAIN, ['--model', model, '--token-file', tokenFile(), '--max-batch', '8', ...extra], env);
  const { url } = await server.event(isListening, 120_000);
  const ready = await server.event(isReady, 120_000);
  return { server, url, ready };
}

/** SIGTERM, and the exit code must be 0 (a clean drain). */
export async function stopRealServer(server: SpawnedServer): Promise<void> {
  server.child.kill('SIGTERM');
  const exit = await server.exit;
  assert.equal(exit.code, 0, server.stderr());
}

/** The /metrics page. */
export async function scrape(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`, { headers: AUTH })).text();
}

/** Waits until /metrics shows exactly this many requests running and waiting. */
export async function waitForQueue(url: string, running: number, waiting: number): Promise<void> {
  let page = '';
  await waitFor(async () => {
    page = await scrape(url);
    return metric(page, 'mlx_batch_requests_running') === running && metric(page, 'mlx_batch_requests_waiting') === waiting;
  }, `${running} running and ${waiting} waiting on /metrics`, {
    timeoutMs: 60_000,
    state: () => page.split('\n').filter((l) => /requests_(running|waiting) /.test(l)).join('; '),
  });
}
