// A clock that moves only when the test says: timers set on it fire, in order, as `advance`
// passes their time.
import type { Timers } from '../../../../src/extension/completion/debouncer';

export class ManualClock implements Timers {
  now = 0;
  private readonly timers = new Map<number, { at: number; fire: () => void }>();
  private nextId = 1;

  setTimeout(fire: () => void, ms: number): number {
    const id = this.nextId++;
    this.timers.set(id, { at: this.now + ms, fire });
    return id;
  }

  clearTimeout(timer: unknown): void {
    this.timers.delete(timer as number);
  }

  /** Timers set and neither fired nor cleared. */
  get pending(): number {
    return this.timers.size;
  }

  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      const due = [...this.timers].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.now = due[1].at;
      due[1].fire();
    }
    this.now = end;
  }
}

/** Lets every promise reaction already queued run. */
export const settle = () => new Promise<void>((r) => setImmediate(r));
