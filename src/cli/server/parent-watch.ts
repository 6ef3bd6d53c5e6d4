// Exits with the parent. A watchdog thread notices that the parent is gone: our parent pid
// changed (we were re-parented), the process named by --parent-pid is gone, or, with
// --watch-stdin, stdin reached its end (the parent held the pipe's write end; the kernel closes
// it however the parent died). The main thread is told and exits at once; if it cannot (a long
// synchronous MLX step, a model still loading), the watchdog kills the process after a grace.
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../server/http/context';

export interface ParentWatchOptions {
  /** Watch this process instead of our parent. */
  parentPid: number | undefined;
  /** stdin is a pipe whose write end the parent holds: its end means the parent is gone. */
  watchStdin: boolean;
  pollMs?: number;
  /** How long the main thread gets to exit by itself before the watchdog kills the process. */
  killAfterMs?: number;
}

interface WatchData {
  parentPid: number | null;
  initialPpid: number;
  watchStdin: boolean;
  pollMs: number;
  killAfterMs: number;
}

type WatchMessage = { gone: string } | { warn: string };

// Plain JavaScript run with `eval`, so it needs no file of its own next to the bundles.
const WATCHDOG = `
const { parentPort, workerData: o } = require('node:worker_threads');
let gone = false;
const leave = (why) => {
  if (gone) return;
  gone = true;
  parentPort.postMessage({ gone: why });
  setTimeout(() => process.kill(process.pid, 'SIGKILL'), o.killAfterMs);
};
const alive = () => {
  if (o.parentPid === null) return process.ppid === o.initialPpid;
  try {
    process.kill(o.parentPid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
};
setInterval(() => { if (!alive()) leave('parent process is gone'); }, o.pollMs);
if (o.watchStdin) {
  const fs = require('node:fs');
  const st = fs.fstatSync(0);
  if (st.isFIFO() || st.isSocket()) {
    const stdin = new (require('node:net').Socket)({ fd: 0, readable: true, writable: false });
    stdin.on('end', () => leave('parent process is gone (stdin closed)'));
    stdin.on('close', () => leave('parent process is gone (stdin closed)'));
    stdin.on('error', () => leave('parent process is gone (stdin failed)'));
    stdin.resume();
  } else {
    parentPort.postMessage({ warn: '--watch-stdin: stdin is not a pipe; only the parent pid is watched' });
  }
}
`;

/** Starts the watchdog; `onGone` runs on the main thread. Returns a function that stops it. */
export function watchParent(options: ParentWatchOptions, onGone: (why: string) => void, log: Logger): () => void {
  const data: WatchData = {
    parentPid: options.parentPid ?? null,
    initialPpid: process.ppid,
    watchStdin: options.watchStdin,
    pollMs: options.pollMs ?? 200,
    killAfterMs: options.killAfterMs ?? 1000,
  };
  const worker = new Worker(WATCHDOG, { eval: true, workerData: data });
  worker.unref();
  worker.on('message', (m: WatchMessage) => {
    if ('gone' in m) onGone(m.gone);
    else log.warn(m.warn);
  });
  worker.on('error', (e) => log.error(`parent watchdog failed: ${e.message}`));
  return () => void worker.terminate();
}
