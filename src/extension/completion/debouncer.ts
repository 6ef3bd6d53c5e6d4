// Latest-wins debounce: each call waits `ms`; a newer call makes every older one resolve false
// at once, so only the last keystroke's request goes out.

/** The timer functions a debouncer waits with: the global ones, or a test's clock. */
export interface Timers {
  setTimeout(fire: () => void, ms: number): unknown;
  clearTimeout(timer: unknown): void;
}

const systemTimers: Timers = {
  setTimeout: (fire, ms) => setTimeout(fire, ms),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout),
};

export class LatestWinsDebouncer {
  private seq = 0;
  private pending: { timer: unknown; resolve: (v: boolean) => void } | undefined;

  constructor(private readonly timers: Timers = systemTimers) {}

  /** Resolves true after `ms` if no newer call came; false as soon as one does. */
  wait(ms: number): Promise<boolean> {
    this.supersede();
    const id = ++this.seq;
    if (ms <= 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = this.timers.setTimeout(() => {
        if (this.pending?.timer === timer) this.pending = undefined;
        resolve(id === this.seq);
      }, ms);
      this.pending = { timer, resolve };
    });
  }

  /** Resolves the waiting call (if any) with false. */
  supersede(): void {
    if (!this.pending) return;
    this.timers.clearTimeout(this.pending.timer);
    this.pending.resolve(false);
    this.pending = undefined;
  }
}
