// The engine's memory figures, comparable on both backends, and the bound on MLX's buffer cache.
//
// - Metal: what MLX has allocated (active arrays + its buffer cache: freed buffers it keeps for
//   reuse) plus the JS heap. The peak is MLX's own counter, which sees every moment inside a
//   step, not only the ends of steps.
// - CPU: the resident set size (MLX's CPU buffers are ordinary process memory). On Linux the
//   peak is the kernel's high-water mark of the resident set (VmHWM), reset through
//   /proc/self/clear_refs; elsewhere it is the highest figure sampled, and the engine samples
//   after every forward pass inside a step.
//
// MLX keeps freed buffers for reuse up to a cache limit that by default is as large as its
// memory limit, so KV buffers reallocated as a batch grows would stay held. The engine bounds the
// cache at start (the memory plan's share of headroom) and empties it when the batch is idle.
import fs from 'node:fs';
import type { Device } from './device';
import { currentDevice } from './device';
import { blasShim, mx } from './mlx';

/** The part of MLX's memory API (mx.metal) the meters use; tests may pass their own. */
export interface MlxMemoryApi {
  getActiveMemory(): number;
  getCacheMemory(): number;
  getPeakMemory(): number;
  resetPeakMemory(): void;
  setCacheLimit(limit: number): number;
  clearCache(): void;
}

export interface MemoryMeter {
  /** Where the figures come from, for logs and docs. */
  readonly source: string;
  /** Bytes the process holds now. */
  inUse(): number;
  /** The highest figure since the last resetPeak(), moments inside steps included. */
  peak(): number;
  resetPeak(): void;
  /** Called by the engine inside a step, after each forward pass (for meters without a peak counter). */
  sample(): void;
  /** Caps the bytes MLX's buffer cache may keep. */
  boundBufferCache(bytes: number): void;
  /** Returns the buffer cache's memory (the batch is idle). */
  releaseBufferCache(): void;
  /** Returns the free memory malloc keeps for reuse (the batch has been idle a while; CPU only). */
  releaseKeptMemory(): void;
}

const jsHeapBytes = (): number => process.memoryUsage().heapTotal;

/** Metal: MLX's active + cached bytes and the JS heap; the peak from MLX's counter. */
export class MetalMeter implements MemoryMeter {
  readonly source = "MLX's active and cached Metal memory plus the JS heap";

  constructor(private readonly api: MlxMemoryApi) {}

  inUse(): number {
    return this.api.getActiveMemory() + this.api.getCacheMemory() + jsHeapBytes();
  }

  peak(): number {
    return Math.max(this.api.getPeakMemory() + this.api.getCacheMemory() + jsHeapBytes(), this.inUse());
  }

  resetPeak(): void {
    this.api.resetPeakMemory();
  }

  sample(): void {
    // MLX's peak counter already sees every allocation.
  }

  boundBufferCache(bytes: number): void {
    this.api.setCacheLimit(bytes);
  }

  releaseBufferCache(): void {
    this.api.clearCache();
  }

  releaseKeptMemory(): void {
    // MLX's buffer cache is Metal's kept memory, returned by releaseBufferCache.
  }
}

/** How the CPU meter reads the resident set and its high-water mark (Linux's /proc by default). */
export interface ProcessMemorySource {
  rss(): number;
  /** VmHWM in bytes, or undefined where the system has none. */
  highWaterMark(): number | undefined;
  /** Resets the high-water mark to the current resident set; false where that is not possible. */
  resetHighWaterMark(): boolean;
  /** Hands the free memory malloc keeps for reuse back to the system (src/shared/malloc-tunables.ts). */
  releaseKept(): void;
}

/** VmHWM of a /proc/PID/status text in bytes, or undefined. */
export function parseVmHwm(status: string): number | undefined {
  const m = /^VmHWM:\s+(\d+)\s*kB$/m.exec(status);
  return m ? Number(m[1]) * 1024 : undefined;
}

export const procSelf: ProcessMemorySource = {
  rss: () => process.memoryUsage.rss(),
  highWaterMark: () => {
    try {
      return parseVmHwm(fs.readFileSync('/proc/self/status', 'utf8'));
    } catch {
      return undefined;
    }
  },
  resetHighWaterMark: () => {
    try {
      fs.writeFileSync('/proc/self/clear_refs', '5'); // 5: reset the peak resident set size
      return true;
    } catch {
      return false;
    }
  },
  releaseKept: () => blasShim?.trimMalloc?.(),
};

/** CPU: the resident set; the peak from the kernel's high-water mark where it can be reset. */
export class ProcessMeter implements MemoryMeter {
  readonly source: string;
  private sampledPeak = 0;
  private hwm: boolean;

  constructor(private readonly proc: ProcessMemorySource, private readonly api: MlxMemoryApi) {
    this.hwm = proc.highWaterMark() !== undefined && proc.resetHighWaterMark();
    this.source = this.hwm ? 'the resident set (peak: the kernel\'s high-water mark)' : 'the resident set (peak: sampled after every forward pass)';
    this.sampledPeak = proc.rss();
  }

  inUse(): number {
    return this.proc.rss();
  }

  peak(): number {
    const now = this.proc.rss();
    const mark = this.hwm ? this.proc.highWaterMark() ?? 0 : 0;
    return Math.max(mark, this.sampledPeak, now);
  }

  resetPeak(): void {
    if (this.hwm) this.hwm = this.proc.resetHighWaterMark();
    this.sampledPeak = this.proc.rss();
  }

  sample(): void {
    // With the kernel's high-water mark nothing needs sampling (this runs after every pass).
    if (!this.hwm) this.sampledPeak = Math.max(this.sampledPeak, this.proc.rss());
  }

  // MLX's cache limit is one setting for every backend; this CPU build keeps no freed buffers
  // (its cache figure stays 0), so both calls cost nothing here and bound the cache where it does.
  boundBufferCache(bytes: number): void {
    this.api.setCacheLimit(bytes);
  }

  releaseBufferCache(): void {
    this.api.clearCache();
  }

  // On the CPU malloc keeps MLX's freed buffers instead (src/shared/malloc-tunables.ts).
  releaseKeptMemory(): void {
    this.proc.releaseKept();
  }
}

/** The meter for the device MLX runs on. */
export function memoryMeter(device: Device = currentDevice()): MemoryMeter {
  return device === 'gpu' ? new MetalMeter(mx.metal) : new ProcessMeter(procSelf, mx.metal);
}
