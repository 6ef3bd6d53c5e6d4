// The one place that holds the device MLX runs on: `gpu` (Metal) or `cpu`. The loader (how
// weights are held), memory reporting and the backend name read it from here; the commands
// choose it from `--device` (default: gpu when Metal is available, else cpu).
import { MlxBatchError } from '../shared/errors';
import { mx } from './mlx';

export type Device = 'cpu' | 'gpu';
export const DEVICES: readonly Device[] = ['cpu', 'gpu'];

/** True when this node-mlx build has Metal and a GPU to run it. */
export function metalAvailable(): boolean {
  try {
    return mx.metal.isAvailable();
  } catch {
    return false;
  }
}

let chosen: Device | undefined;

/** The device MLX runs on: the one selected, else gpu when Metal is available, else cpu. */
export function currentDevice(): Device {
  return chosen ?? (metalAvailable() ? 'gpu' : 'cpu');
}

/** The backend name reports and /v1 stats carry. */
export function backendName(device: Device = currentDevice()): 'metal' | 'cpu' {
  return device === 'gpu' ? 'metal' : 'cpu';
}

/**
 * Selects the device (undefined: the default) and makes it MLX's default device. `gpu` where
 * Metal is unavailable is a validation error.
 */
export function selectDevice(device: Device | undefined): Device {
  const d = device ?? (metalAvailable() ? 'gpu' : 'cpu');
  if (d === 'gpu' && !metalAvailable()) {
    throw new MlxBatchError(
      'validation',
      `--device gpu needs Metal, which this node-mlx build does not have here (${process.platform}-${process.arch}); use --device cpu`,
      'device',
    );
  }
  mx.setDefaultDevice(d === 'gpu' ? mx.gpu : mx.cpu);
  chosen = d;
  return d;
}
