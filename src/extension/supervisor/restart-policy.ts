// When a server that died may be started again: exponential back-off, at most `maxRestarts`
// times in a row; a run that stayed up for `stableMs` resets the count.

export class RestartPolicy {
  private attempts = 0;

  constructor(
    private readonly maxRestarts: number,
    private readonly baseDelayMs = 500,
    private readonly maxDelayMs = 10_000,
    private readonly stableMs = 60_000,
  ) {}

  /** Called when the process exits unexpectedly after running `uptimeMs`: the delay before the next start, or undefined to give up. */
  next(uptimeMs: number): number | undefined {
    if (uptimeMs >= this.stableMs) this.attempts = 0;
    if (this.attempts >= this.maxRestarts) return undefined;
    const delay = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** this.attempts);
    this.attempts += 1;
    return delay;
  }

  get restarts(): number {
    return this.attempts;
  }

  reset(): void {
    this.attempts = 0;
  }
}
