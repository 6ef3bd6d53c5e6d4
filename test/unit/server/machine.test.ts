import assert from 'node:assert/strict';
import os from 'node:os';
import { describeMachine } from '../../../src/server/machine';

describe('describeMachine', () => {
  it('names this machine\'s platform, CPUs and memory, and the backend it is given', () => {
    const m = describeMachine('metal');
    assert.equal(m.platform, os.platform());
    assert.equal(m.arch, os.arch());
    assert.equal(m.cpus, os.cpus().length);
    assert.ok(m.cpuModel.length > 0);
    assert.ok(m.memoryGb > 0);
    assert.equal(m.backend, 'metal');
  });
});
