// Waiting for a condition instead of sleeping a guessed time: polls `cond` until it holds and
// fails naming what never happened (and, with `state`, what was seen instead). The timeout is a
// hang check, long enough that a slow, loaded machine does not reach it.

export interface WaitOptions {
  timeoutMs?: number;
  /** What was seen instead, for the failure message. */
  state?: () => unknown;
}

const DEFAULT_TIMEOUT_MS = 10_000;

export function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs?: number): Promise<void>;
export function waitFor(cond: () => boolean | Promise<boolean>, what: string, opts?: WaitOptions): Promise<void>;
export async function waitFor(cond: () => boolean | Promise<boolean>, whatOrTimeout?: string | number, opts: WaitOptions = {}): Promise<void> {
  const what = typeof whatOrTimeout === 'string' ? whatOrTimeout : 'a condition';
  const timeoutMs = typeof whatOrTimeout === 'number' ? whatOrTimeout : opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) {
      const seen = opts.state ? `; seen: ${JSON.stringify(opts.state())}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${seen}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}
