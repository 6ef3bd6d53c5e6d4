// The CLI's commands run MLX in this process, and glibc reads its malloc tunables only at a
// process's start (src/shared/malloc-tunables.ts). When one is missing, the command runs again
// as a child with them: same runtime, flags, arguments and stdio. The child gets the signals this
// process receives (Ctrl-C, SIGTERM, SIGHUP) and its exit code is this process's. When this
// process's parent dies (it is re-parented), it leaves at once: the child is then re-parented in
// turn, and `serve`'s watchdog (src/cli/server/parent-watch.ts) ends the server as if the parent
// had been its own.
import { spawn } from 'node:child_process';
import os from 'node:os';
import { withMallocTunables } from '../shared/malloc-tunables';

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const PARENT_POLL_MS = 100;

/**
 * Runs this command again with glibc's malloc tunables when it should; resolves to the child's exit code (128 +
 * the signal's number when a signal ended it). Undefined: nothing to do, or the child could not be
 * started, and this process goes on with the command itself.
 */
export function relaunchWithMallocTunables(): Promise<number | undefined> {
  const env = withMallocTunables(process.env);
  if (env === process.env) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env });
    const forward = (signal: NodeJS.Signals): void => void child.kill(signal);
    for (const s of FORWARDED) process.on(s, forward);
    const parent = process.ppid;
    const watch = setInterval(() => {
      if (process.ppid === parent) return;
      child.unref();
      done(1);
    }, PARENT_POLL_MS);
    const done = (code: number | undefined): void => {
      clearInterval(watch);
      for (const s of FORWARDED) process.off(s, forward);
      resolve(code);
    };
    child.once('error', () => done(undefined));
    child.once('exit', (code, signal) => done(code ?? 128 + (signal ? os.constants.signals[signal] : 0)));
  });
}
