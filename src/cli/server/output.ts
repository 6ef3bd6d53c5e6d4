// stdout and stderr as the server writes them. A write never throws, and the first error on a
// stream (EPIPE once its reader, usually the parent process, is gone) stops every later write
// there. Unguarded, a dead stderr's 'error' event reached the uncaughtException handler, which
// logged it to the same stderr: an endless chain of errors that starved every promise.

export class GuardedOutput {
  private broken = false;

  constructor(private readonly stream: NodeJS.WritableStream & { destroyed?: boolean }) {
    stream.on('error', () => {
      this.broken = true;
    });
  }

  /** False once a write failed: nobody reads this stream any more. */
  get open(): boolean {
    return !this.broken && !this.stream.destroyed;
  }

  write(text: string): void {
    if (!this.open) return;
    try {
      this.stream.write(text);
    } catch {
      this.broken = true;
    }
  }
}

let out: GuardedOutput | undefined;
let err: GuardedOutput | undefined;

/** The process's stdout, guarded (the first call installs the guard). */
export function stdoutOutput(): GuardedOutput {
  return (out ??= new GuardedOutput(process.stdout));
}

/** The process's stderr, guarded (the first call installs the guard). */
export function stderrOutput(): GuardedOutput {
  return (err ??= new GuardedOutput(process.stderr));
}
