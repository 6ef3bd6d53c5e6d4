// How much of this process's memory sits in transparent huge pages (Linux): the figure that shows
// whether glibc's huge-page tunable (src/shared/malloc-tunables.ts) reached the server.
import fs from 'node:fs';

/** Bytes of anonymous memory in transparent huge pages (/proc/self/smaps_rollup); null where the kernel does not say. */
export function hugePageBytes(): number | null {
  let text: string;
  try {
    text = fs.readFileSync('/proc/self/smaps_rollup', 'utf8');
  } catch {
    return null;
  }
  const m = /^AnonHugePages:\s+(\d+) kB$/m.exec(text);
  return m ? Number(m[1]) * 1024 : null;
}
