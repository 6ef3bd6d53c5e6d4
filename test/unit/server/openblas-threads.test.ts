// OpenBLAS's worker spin time for the server process: its least unless the environment sets one.
import assert from 'node:assert/strict';
import { OPENBLAS_THREAD_TIMEOUT, setOpenBlasThreadTimeout } from '../../../src/server/native/openblas-threads';

describe('OPENBLAS_THREAD_TIMEOUT', () => {
  it('is set to OpenBLAS\'s least (4) where the environment has none', () => {
    const env: NodeJS.ProcessEnv = {};
    assert.equal(setOpenBlasThreadTimeout(env), '4');
    assert.equal(env.OPENBLAS_THREAD_TIMEOUT, OPENBLAS_THREAD_TIMEOUT);
  });

  it('keeps a value the environment already has', () => {
    const env: NodeJS.ProcessEnv = { OPENBLAS_THREAD_TIMEOUT: '28' };
    assert.equal(setOpenBlasThreadTimeout(env), '28');
    assert.equal(env.OPENBLAS_THREAD_TIMEOUT, '28');
  });

  it('takes an empty value as unset', () => {
    const env: NodeJS.ProcessEnv = { OPENBLAS_THREAD_TIMEOUT: '' };
    assert.equal(setOpenBlasThreadTimeout(env), '4');
  });
});
