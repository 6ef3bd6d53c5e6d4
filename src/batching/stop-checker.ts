// Stop-string matching over streamed text. A stop string may span token boundaries, so text
// that could be the start of one is held back until it is known not to be; the stop string
// itself and everything after it are never emitted.

export interface StopResult {
  /** Text that is now safe to emit. */
  text: string;
  /** A stop string was found; `text` ends just before it. */
  stopped: boolean;
  /** The stop string found. */
  word?: string;
}

export class StopChecker {
  private pending = '';
  private readonly stops: readonly string[];

  constructor(stops: readonly string[] = []) {
    this.stops = stops.filter((s) => s.length > 0);
  }

  get active(): boolean {
    return this.stops.length > 0;
  }

  /** Adds newly decoded text; returns what can be emitted. */
  push(text: string): StopResult {
    if (!this.active) return { text, stopped: false };
    this.pending += text;
    let at = -1;
    let word = '';
    for (const s of this.stops) {
      const i = this.pending.indexOf(s);
      if (i >= 0 && (at < 0 || i < at)) {
        at = i;
        word = s;
      }
    }
    if (at >= 0) {
      const out = this.pending.slice(0, at);
      this.pending = '';
      return { text: out, stopped: true, word };
    }
    const hold = this.heldSuffix();
    const out = this.pending.slice(0, this.pending.length - hold);
    this.pending = this.pending.slice(this.pending.length - hold);
    return { text: out, stopped: false };
  }

  /** End of generation: whatever was held back is plain text after all. */
  flush(): string {
    const out = this.pending;
    this.pending = '';
    return out;
  }

  /** Length of the longest suffix of `pending` that is a proper prefix of some stop string. */
  private heldSuffix(): number {
    let best = 0;
    for (const s of this.stops) {
      for (let n = Math.min(s.length - 1, this.pending.length); n > best; n--) {
        if (this.pending.endsWith(s.slice(0, n))) {
          best = n;
          break;
        }
      }
    }
    return best;
  }
}
