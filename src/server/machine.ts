// The machine a benchmark runs on, as its report gives it (Node's os module, which src/batching
// does without).
import os from 'node:os';
import type { BenchmarkReport } from '../shared/protocol';

/** Platform, CPUs and memory of this machine; `backend` is 'cpu' or 'metal'. */
export function describeMachine(backend: string): BenchmarkReport['machine'] {
  const cpus = os.cpus();
  return {
    platform: os.platform(),
    arch: os.arch(),
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryGb: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    backend,
  };
}
