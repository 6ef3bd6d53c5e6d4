// Spawns a server process and follows its stdout JSON events and its stderr log.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { withMallocTunables } from '../../../src/shared/malloc-tunables';
import type { ServerEvent } from '../../../src/shared/protocol';

export interface SpawnedServer {
  child: ChildProcess;
  events: ServerEvent[];
  /** Every stdout line (all must be JSON events). */
  stdout: string[];
  stderr: () => string;
  /** Resolves with the first event matching `pred`. */
  event<E extends ServerEvent>(pred: (e: ServerEvent) => e is E, timeoutMs?: number): Promise<E>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Path of a compiled script next to the compiled tests (works for out/ and any --outDir). */
export function compiled(...parts: string[]): string {
  return path.resolve(__dirname, '..', '..', '..', ...parts);
}

/**
 * `stdin: 'pipe'` gives the server a stdin pipe as the extension does (see --watch-stdin). The
 * environment is ours plus `env`, with glibc's malloc tunables as the extension's launch adds them.
 */
export function spawnServer(script: string, args: string[], env: NodeJS.ProcessEnv = {}, stdin: 'ignore' | 'pipe' = 'ignore'): SpawnedServer {
  const child = spawn(process.execPath, ['--expose-gc', script, ...args], { stdio: [stdin, 'pipe', 'pipe'], env: withMallocTunables({ ...process.env, ...env }) });
  const events: ServerEvent[] = [];
  const stdout: string[] = [];
  let err = '';
  let rest = '';
  const waiters: (() => void)[] = [];
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() ?? '';
    for (const l of lines) {
      stdout.push(l);
      try {
        events.push(JSON.parse(l) as ServerEvent);
      } catch {
        // kept in stdout; the tests check every line is JSON
      }
    }
    for (const w of waiters.splice(0)) w();
  });
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => {
    for (const w of waiters.splice(0)) w();
    resolve({ code, signal });
  }));
  let exited = false;
  void exit.then(() => (exited = true));
  const event = <E extends ServerEvent>(pred: (e: ServerEvent) => e is E, timeoutMs = 60_000): Promise<E> => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no such event within ${timeoutMs} ms; stderr:\n${err}`)), timeoutMs);
    const check = () => {
      const found = events.find(pred);
      if (found) {
        clearTimeout(timer);
        resolve(found);
      } else if (exited) {
        clearTimeout(timer);
        reject(new Error(`server exited; events ${JSON.stringify(events)}; stderr:\n${err}`));
      } else waiters.push(check);
    };
    check();
  });
  return { child, events, stdout, stderr: () => err, event, exit };
}

export const isListening = (e: ServerEvent): e is Extract<ServerEvent, { event: 'listening' }> => e.event === 'listening';
export const isReady = (e: ServerEvent): e is Extract<ServerEvent, { event: 'ready' }> => e.event === 'ready';
export const isError = (e: ServerEvent): e is Extract<ServerEvent, { event: 'error' }> => e.event === 'error';
