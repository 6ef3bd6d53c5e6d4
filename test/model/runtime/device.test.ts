// The device is an input: selected once (device.ts), it is MLX's default device and what the
// loader and memory reporting read. `gpu` where Metal is unavailable is refused by name.
import assert from 'node:assert/strict';
import { currentDevice, metalAvailable, selectDevice } from '../../../src/server/device';
import { mx } from '../../../src/server/mlx';

describe('device selection', () => {
  after(() => selectDevice(undefined));

  it('cpu is MLX default device once selected, and what currentDevice() reports', () => {
    assert.equal(selectDevice('cpu'), 'cpu');
    assert.equal(currentDevice(), 'cpu');
    assert.equal(mx.defaultDevice().type, mx.cpu);
  });

  it('gpu where Metal is unavailable is a validation error naming the flag and this machine', function () {
    if (metalAvailable()) this.skip();
    assert.throws(() => selectDevice('gpu'), (e: Error & { type?: string; param?: string }) =>
      e.type === 'validation' && e.param === 'device' && e.message.includes('--device gpu needs Metal') && e.message.includes(`${process.platform}-${process.arch}`) && e.message.includes('use --device cpu'));
    assert.equal(currentDevice(), 'cpu', 'the refused choice changed nothing');
  });

  it('the default is gpu exactly when Metal is available', () => {
    assert.equal(selectDevice(undefined) === 'gpu', metalAvailable());
  });
});
