// The environment a process running MLX on the CPU starts with: glibc's huge-page and
// keep-freed-buffers tunables added on Linux, other tunables kept, an explicit choice respected,
// MLX_BATCH_HUGE_PAGES=0 and MLX_BATCH_MALLOC_KEEP=0 obeyed.
import assert from 'node:assert/strict';
import { MMAP_THRESHOLD_BYTES, TRIM_THRESHOLD_BYTES, keepsFreedBuffers, withMallocTunables } from '../../../src/shared/malloc-tunables';

const HUGE = 'glibc.malloc.hugetlb=1';
const KEEP = `glibc.malloc.arena_max=1:glibc.malloc.mmap_threshold=${MMAP_THRESHOLD_BYTES}:glibc.malloc.trim_threshold=${TRIM_THRESHOLD_BYTES}`;

describe('withMallocTunables', () => {
  it('adds huge pages and freed buffers kept on Linux, keeping the rest of the environment', () => {
    const env = withMallocTunables({ PATH: '/bin' }, 'linux');
    assert.deepEqual(env, { PATH: '/bin', GLIBC_TUNABLES: `${HUGE}:${KEEP}` });
    assert.equal(MMAP_THRESHOLD_BYTES, 33554432);
  });

  it('appends them to tunables already set', () => {
    assert.equal(withMallocTunables({ GLIBC_TUNABLES: 'glibc.malloc.tcache_count=0' }, 'linux').GLIBC_TUNABLES, `glibc.malloc.tcache_count=0:${HUGE}:${KEEP}`);
  });

  it('leaves a tunable the environment sets as it is, and adds the others', () => {
    assert.equal(withMallocTunables({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' }, 'linux').GLIBC_TUNABLES, `glibc.malloc.hugetlb=0:${KEEP}`);
    assert.equal(
      withMallocTunables({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=4' }, 'linux').GLIBC_TUNABLES,
      `glibc.malloc.arena_max=4:${HUGE}:glibc.malloc.mmap_threshold=${MMAP_THRESHOLD_BYTES}:glibc.malloc.trim_threshold=${TRIM_THRESHOLD_BYTES}`,
    );
  });

  it('each switch leaves its own tunables out', () => {
    assert.equal(withMallocTunables({ MLX_BATCH_HUGE_PAGES: '0' }, 'linux').GLIBC_TUNABLES, KEEP);
    assert.equal(withMallocTunables({ MLX_BATCH_MALLOC_KEEP: '0' }, 'linux').GLIBC_TUNABLES, HUGE);
  });

  it('returns the same environment when nothing is to change: all set, both off, other systems', () => {
    for (const [env, platform] of [
      [{ GLIBC_TUNABLES: `glibc.malloc.hugetlb=2:${KEEP}` }, 'linux'],
      [{ MLX_BATCH_HUGE_PAGES: '0', MLX_BATCH_MALLOC_KEEP: '0' }, 'linux'],
      [{}, 'darwin'],
    ] as [NodeJS.ProcessEnv, NodeJS.Platform][]) {
      assert.equal(withMallocTunables(env, platform), env, JSON.stringify([env, platform]));
    }
  });

  it('does not change the environment it is given', () => {
    const env = { A: '1' };
    withMallocTunables(env, 'linux');
    assert.deepEqual(env, { A: '1' });
  });
});

describe('keepsFreedBuffers', () => {
  it('is true for the environment withMallocTunables gives, false with the switch off, a tunable missing, or off Linux', () => {
    assert.equal(keepsFreedBuffers(withMallocTunables({}, 'linux'), 'linux'), true);
    assert.equal(keepsFreedBuffers(withMallocTunables({ MLX_BATCH_MALLOC_KEEP: '0' }, 'linux'), 'linux'), false);
    assert.equal(keepsFreedBuffers({ GLIBC_TUNABLES: `${HUGE}:glibc.malloc.arena_max=1:glibc.malloc.mmap_threshold=1` }, 'linux'), false);
    assert.equal(keepsFreedBuffers(withMallocTunables({}, 'linux'), 'darwin'), false);
  });
});
