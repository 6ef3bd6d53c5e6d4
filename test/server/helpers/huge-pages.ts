// What the huge-page tests of server processes compare: the kernel's transparent huge page mode
// and the bytes of a model folder's weights.
import fs from 'node:fs';
import path from 'node:path';

/** The kernel's transparent huge page mode: `always`, `madvise` (glibc's tunable asks) or `never`; undefined off Linux. */
export function thpMode(): string | undefined {
  try {
    return /\[(\w+)\]/.exec(fs.readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/** Bytes of a model folder's weight files. */
export function weightBytes(dir: string): number {
  return fs.readdirSync(dir).filter((f) => f.endsWith('.safetensors')).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
}
