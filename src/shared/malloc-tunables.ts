// How glibc's malloc serves a process that runs MLX on the CPU (Linux). MLX's CPU buffers
// (weights, KV cache, every intermediate of a pass) come from malloc, and on the CPU MLX keeps no
// freed buffers for reuse (its buffer cache is Metal's). glibc reads its tunables only when a
// process starts, so whoever starts such a process adds them (GLIBC_TUNABLES): the extension's
// launch of the server, the CLI (which starts itself again with them) and the tests and
// benchmarks that start servers all take them from here. Two choices, each with its switch:
//
// - Huge pages (`glibc.malloc.hugetlb=1`, MLX_BATCH_HUGE_PAGES=0 leaves it out): glibc asks the
//   kernel for transparent huge pages, so a decode step's stream of weights walks the page tables
//   every 2 MiB instead of every 4 KiB, and a fresh intermediate faults once per 2 MiB.
// - Freed buffers kept (MLX_BATCH_MALLOC_KEEP=0 leaves it out): one arena, buffers up to 32 MiB
//   from the heap rather than their own mmap, and up to 256 MiB of freed memory kept at the top of
//   the heap before it goes back to the kernel. By default glibc maps each buffer past its
//   threshold afresh and unmaps it when freed, so every pass's scores, activations and outputs
//   page-fault in again (a third of MLX's CPU attention here went to page faults); kept, the next
//   pass reuses the same pages. The engine hands the kept memory back when it goes idle
//   (`malloc_trim`, native/blas-shim.ts), as it empties MLX's buffer cache on Metal.
//
// A tunable the environment already sets is left as it is. Elsewhere than Linux nothing changes.
// docs/PERFORMANCE.md has the measurements.

export const HUGE_PAGES_VARIABLE = 'MLX_BATCH_HUGE_PAGES';
export const MALLOC_KEEP_VARIABLE = 'MLX_BATCH_MALLOC_KEEP';

/** Freed buffers up to this size are kept in the heap (glibc's own ceiling for its moving threshold). */
export const MMAP_THRESHOLD_BYTES = 32 * 2 ** 20;
/** Free memory at the top of the heap past this goes back to the kernel (until the engine trims at idle). */
export const TRIM_THRESHOLD_BYTES = 256 * 2 ** 20;

const HUGE_PAGES: [string, string] = ['glibc.malloc.hugetlb', '1'];
const KEEP: [string, string][] = [
  ['glibc.malloc.arena_max', '1'],
  ['glibc.malloc.mmap_threshold', String(MMAP_THRESHOLD_BYTES)],
  ['glibc.malloc.trim_threshold', String(TRIM_THRESHOLD_BYTES)],
];

/** The names of the tunables `env` sets. */
function tunableNames(env: NodeJS.ProcessEnv): Set<string> {
  return new Set((env.GLIBC_TUNABLES ?? '').split(':').map((t) => t.split('=')[0]));
}

/** Whether a process started with `env` has malloc keep freed buffers: every keep tunable set (by us or by hand), on Linux. */
export function keepsFreedBuffers(env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): boolean {
  if (platform !== 'linux') return false;
  const set = tunableNames(env);
  return KEEP.every(([name]) => set.has(name));
}

/** `env` with glibc's malloc tunables added, or `env` itself (the same object) when nothing is to change. */
export function withMallocTunables(env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): NodeJS.ProcessEnv {
  if (platform !== 'linux') return env;
  const wanted = [...(env[HUGE_PAGES_VARIABLE] !== '0' ? [HUGE_PAGES] : []), ...(env[MALLOC_KEEP_VARIABLE] !== '0' ? KEEP : [])];
  const set = tunableNames(env);
  const added = wanted.filter(([name]) => !set.has(name)).map(([name, value]) => `${name}=${value}`);
  const tunables = env.GLIBC_TUNABLES ?? '';
  if (added.length === 0) return env;
  return { ...env, GLIBC_TUNABLES: [...(tunables ? [tunables] : []), ...added].join(':') };
}
