// Transparent huge pages for a process that runs MLX on the CPU (Linux, glibc). MLX's CPU buffers
// (weights, KV cache, every intermediate of a pass) come from malloc; in 4 KiB pages a decode
// step's stream of weights walks the page tables every 4 KiB, and every fresh intermediate costs
// a page fault per 4 KiB (docs/PERFORMANCE.md has the measurements). glibc's malloc asks the kernel
// for huge pages (madvise) when GLIBC_TUNABLES holds `glibc.malloc.hugetlb=1`, a variable it reads
// only when the process starts: so whoever starts such a process adds it. The extension's launch
// of the server, the CLI (which starts itself again with it) and the tests that start servers all
// take it from here. MLX_BATCH_HUGE_PAGES=0 leaves the environment as it is; so does a
// GLIBC_TUNABLES that already sets glibc.malloc.hugetlb. Elsewhere than Linux nothing changes.

export const HUGE_PAGES_VARIABLE = 'MLX_BATCH_HUGE_PAGES';
const TUNABLE = 'glibc.malloc.hugetlb';

/** `env` with glibc's huge-page tunable added, or `env` itself (the same object) when nothing is to change. */
export function withHugePages(env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): NodeJS.ProcessEnv {
  if (platform !== 'linux' || env[HUGE_PAGES_VARIABLE] === '0') return env;
  const tunables = env.GLIBC_TUNABLES ?? '';
  if (tunables.split(':').some((t) => t.startsWith(`${TUNABLE}=`))) return env;
  return { ...env, GLIBC_TUNABLES: tunables ? `${tunables}:${TUNABLE}=1` : `${TUNABLE}=1` };
}
