// A completion request still streaming, shared by the keystrokes that agree with it: typing the
// characters it is predicting reuses it (Continue's GeneratorReuseManager). When nobody waits for
// it any more it is aborted after a grace period, so the server frees its batch row.
import { remainder } from './completion-cache';

export class InflightCompletion {
  /** The (trimmed) completion so far; the final one once `done`. */
  text = '';
  done = false;
  readonly result: Promise<string>;
  private resolve!: (text: string) => void;
  private reject!: (e: unknown) => void;
  private users = 0;
  private abortTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly prefix: string,
    readonly suffix: string,
    readonly controller: AbortController,
    private readonly graceMs: number,
  ) {
    this.result = new Promise((res, rej) => { this.resolve = res; this.reject = rej; });
    this.result.catch(() => undefined);
  }

  update(text: string): void {
    this.text = text;
  }

  finish(text: string): void {
    this.text = text;
    this.done = true;
    this.clearTimer();
    this.resolve(text);
  }

  fail(e: unknown): void {
    this.done = true;
    this.clearTimer();
    this.reject(e);
  }

  /** True if a request at (`prefix`, `suffix`) can be answered by this one. */
  covers(prefix: string, suffix: string): boolean {
    if (suffix !== this.suffix || !prefix.startsWith(this.prefix)) return false;
    const typed = prefix.slice(this.prefix.length);
    if (this.done) return remainder(this.prefix, this.text, prefix) !== '';
    return this.text.startsWith(typed) || typed.startsWith(this.text);
  }

  /** Registers a waiter; the returned function unregisters it. */
  acquire(): () => void {
    this.users += 1;
    this.clearTimer();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.users -= 1;
      if (this.users === 0 && !this.done) this.abortTimer = setTimeout(() => this.abort(), this.graceMs);
    };
  }

  abort(): void {
    this.clearTimer();
    if (!this.done) this.controller.abort();
  }

  private clearTimer(): void {
    if (this.abortTimer) clearTimeout(this.abortTimer);
    this.abortTimer = undefined;
  }
}
