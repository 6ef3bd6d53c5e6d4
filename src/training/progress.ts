// A progress bar on a terminal; on a pipe or log file, one plain line every few seconds.

export class ProgressBar {
  private lastPrint = 0;
  private readonly started = performance.now();

  constructor(
    private readonly total: number,
    private readonly startAt: number,
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly everyMs = 15_000,
  ) {}

  update(done: number, detail: string): void {
    const now = performance.now();
    const tty = this.out.isTTY === true;
    if (!tty && now - this.lastPrint < this.everyMs && done < this.total) return;
    this.lastPrint = now;
    const frac = done / this.total;
    const width = 30;
    const filled = Math.round(frac * width);
    const rate = (done - this.startAt) / ((now - this.started) / 1000);
    const eta = rate > 0 ? (this.total - done) / rate : 0;
    const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${this.total} ${detail} eta ${formatSeconds(eta)}`;
    this.out.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
  }

  /** Ends the bar's line before other output. */
  break(): void {
    if (this.out.isTTY) this.out.write('\n');
  }
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`;
}
