// Deliberate memory release. node-mlx 0.0.7 has no tidy/dispose: an array's buffer is freed
// only when its JS wrapper is garbage-collected, and a synchronous loop frees nothing. Every
// MLX loop calls `reclaim.step()` between steps: it yields to the event loop and runs a
// full gc every few steps (docs/PERFORMANCE.md has the measurements behind the numbers).
import v8 from 'node:v8';
import vm from 'node:vm';
import { mx } from './mlx';

type GcFn = () => void;

function exposeGc(): GcFn | undefined {
  const g = (globalThis as { gc?: GcFn }).gc;
  if (g) return g;
  try {
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc') as GcFn;
  } catch {
    return undefined;
  }
}

const gc = exposeGc();

/** Yields to the event loop (setImmediate), so I/O, aborts and new requests are seen. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class MemoryReclaimer {
  private steps = 0;
  /** Milliseconds spent in gc so far (counted, as benchmarks must include it). */
  gcMs = 0;

  constructor(private readonly gcEvery = 8) {}

  /** Call once per MLX step: yields, and collects garbage every `gcEvery` steps. */
  async step(): Promise<void> {
    if (++this.steps % this.gcEvery === 0) this.collect();
    await yieldToEventLoop();
  }

  /** A full collection now (e.g. after a request leaves and its cache is dropped). */
  collect(): void {
    if (!gc) return;
    const t = performance.now();
    gc();
    this.gcMs += performance.now() - t;
  }
}

export const hasGc = gc !== undefined;

/**
 * Bytes in use: MLX's active memory on a GPU; on the CPU backend MLX reports 0, so the
 * process's resident set size.
 */
export function memoryInUse(): number {
  try {
    if (mx.metal.isAvailable()) return mx.metal.getActiveMemory();
  } catch {
    // fall through
  }
  return process.memoryUsage().rss;
}
