// The environment a process running MLX on the CPU starts with: glibc's huge-page tunable added
// on Linux, other tunables kept, an explicit choice respected, MLX_BATCH_HUGE_PAGES=0 obeyed.
import assert from 'node:assert/strict';
import { withHugePages } from '../../../src/shared/huge-pages';

describe('withHugePages', () => {
  it('adds glibc.malloc.hugetlb=1 on Linux, keeping the rest of the environment', () => {
    const env = withHugePages({ PATH: '/bin' }, 'linux');
    assert.deepEqual(env, { PATH: '/bin', GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' });
  });

  it('appends it to tunables already set', () => {
    assert.equal(withHugePages({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }, 'linux').GLIBC_TUNABLES, 'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1');
  });

  it('leaves an explicit glibc.malloc.hugetlb choice, MLX_BATCH_HUGE_PAGES=0 and other systems as they are', () => {
    for (const [env, platform] of [
      [{ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' }, 'linux'],
      [{ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=2' }, 'linux'],
      [{ MLX_BATCH_HUGE_PAGES: '0' }, 'linux'],
      [{}, 'darwin'],
    ] as [NodeJS.ProcessEnv, NodeJS.Platform][]) {
      assert.equal(withHugePages(env, platform), env, JSON.stringify([env, platform]));
    }
  });

  it('does not change the environment it is given', () => {
    const env = { A: '1' };
    withHugePages(env, 'linux');
    assert.deepEqual(env, { A: '1' });
  });
});
