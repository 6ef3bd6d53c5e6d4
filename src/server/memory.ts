// Deliberate memory release. node-mlx 0.0.7 has no tidy/dispose: an array's buffer is freed
// only when its JS wrapper is garbage-collected, and a synchronous loop frees nothing. Every
// MLX loop calls `reclaim.step()` between steps: it yields to the event loop after a minor
// collection (a step's intermediates are young wrappers), and a full one every few dozen steps
// for what lived longer: a full collection walks the whole heap (a tokenizer's tables among it)
// and made every 8th decode step 40-80 ms slower (docs/PERFORMANCE.md has the measurements).
// Also the memory available to a model about to load, and MLX's buffer bytes for leak checks
// (the engine's own figures are in memory-meter.ts).
import fs from 'node:fs';
import os from 'node:os';
import v8 from 'node:v8';
import vm from 'node:vm';
import { currentDevice, metalAvailable } from './device';
import { blasShim, mx } from './mlx';

type GcFn = (options?: { type: 'minor' | 'major' }) => void;

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

/**
 * Bytes of MLX buffers dropped since the last full collection past which `dropped` collects at
 * once. MLX's buffers are invisible to V8's heuristics, so a dropped batch cache would otherwise
 * wait for the next periodic full collection. Below it, the wait is cheaper than a full
 * collection per request: one walks the whole heap, 20-40 ms with a tokenizer loaded, and a
 * collection at every finished or cancelled request took 11 of 60 s in the editor scenario.
 */
export const DROPPED_BYTES_COLLECT = 128 * 2 ** 20;

export class MemoryReclaimer {
  private steps = 0;
  /** MLX buffer bytes dropped since the last full collection (`dropped`). */
  private debt = 0;
  /** Milliseconds spent in gc so far (counted, as benchmarks must include it). */
  gcMs = 0;

  constructor(
    private readonly gcEvery = 64,
    private readonly collectFromBytes = DROPPED_BYTES_COLLECT,
  ) {}

  /** Call once per MLX step: a minor collection (a full one every `gcEvery` steps), then a turn of the event loop. */
  async step(): Promise<void> {
    this.timedGc(++this.steps % this.gcEvery === 0 ? 'major' : 'minor');
    await yieldToEventLoop();
  }

  /**
   * MLX buffers of about `bytes` were just dropped (a request's cache, a batch cache rebuilt
   * without a row): a full collection once the dropped bytes since the last one reach
   * `collectFromBytes`, else the periodic one frees them. Returns whether it collected.
   */
  dropped(bytes: number): boolean {
    this.debt += bytes;
    if (this.debt < this.collectFromBytes) return false;
    this.collect();
    return true;
  }

  /**
   * Frees the intermediates of work just evaluated: a minor collection (their JS wrappers are
   * young) and a turn of the event loop (node-mlx frees a buffer in its wrapper's finalizer,
   * which runs after the collection). Inside a long pass this lets the next layers reuse that
   * memory instead of faulting in fresh pages for every output.
   */
  async releaseIntermediates(): Promise<void> {
    this.timedGc('minor');
    await yieldToEventLoop();
  }

  /** A full collection now (e.g. after a request leaves and its cache is dropped). */
  collect(): void {
    this.timedGc('major');
  }

  /** One collection, its time added to gcMs; nothing without an exposed gc. */
  private timedGc(type: 'minor' | 'major'): void {
    if (type === 'major') this.debt = 0;
    if (!gc) return;
    const t = performance.now();
    if (type === 'minor') gc({ type });
    else gc();
    this.gcMs += performance.now() - t;
  }
}

export const hasGc = gc !== undefined;

/**
 * Bytes of MLX buffers: Metal's active memory on a GPU; on the CPU, where MLX's counters are 0,
 * what malloc holds (MLX allocates its CPU buffers with malloc), read by the native shim.
 * Undefined when neither is available. For leak checks: it falls when a buffer is freed, which
 * the resident set size often does not.
 */
export function mlxBufferBytes(): number | undefined {
  if (currentDevice() === 'gpu') return mx.metal.getActiveMemory();
  const bytes = blasShim?.mallocBytes?.();
  return bytes !== undefined && bytes >= 0 ? bytes : undefined;
}

/** Memory a model may use, and where the figure came from (for messages). */
export interface AvailableMemory {
  bytes: number;
  source: string;
}

/** MemAvailable of /proc/meminfo in bytes, or undefined when the text has none. */
export function parseMemAvailable(meminfo: string): number | undefined {
  const m = /^MemAvailable:\s+(\d+)\s*kB$/m.exec(meminfo);
  return m ? Number(m[1]) * 1024 : undefined;
}

// macOS counts file cache and compressible pages as used, so os.freemem() is near zero on a
// healthy Mac. With unified memory the figure is Metal's recommended working set (what MLX
// may keep resident for the GPU, about 2/3 to 3/4 of RAM), else this share of RAM; what other
// apps use is not subtracted.
const MAC_RAM_SHARE = 0.75;

/**
 * Memory available to a model: Linux's MemAvailable (free memory plus the page cache it can
 * drop; os.freemem() leaves the cache out and is far too low), Metal's working set on macOS,
 * else os.freemem().
 */
export function availableMemory(): AvailableMemory {
  if (process.platform === 'darwin') {
    try {
      const ws = Number(currentDevice() === 'gpu' && metalAvailable() ? mx.metal.deviceInfo().max_recommended_working_set_size : 0);
      if (ws > 0) return { bytes: Math.min(ws, os.totalmem()), source: "Metal's recommended working set" };
    } catch {
      // fall through
    }
    return { bytes: Math.floor(os.totalmem() * MAC_RAM_SHARE), source: `${MAC_RAM_SHARE * 100}% of RAM` };
  }
  try {
    const bytes = parseMemAvailable(fs.readFileSync('/proc/meminfo', 'utf8'));
    if (bytes !== undefined) return { bytes, source: 'MemAvailable' };
  } catch {
    // not Linux
  }
  return { bytes: os.freemem(), source: 'free memory' };
}
