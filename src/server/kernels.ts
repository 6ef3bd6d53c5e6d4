// The CPU kernels this process runs with, as the environment chose them: the BLAS shim
// (MLX_BATCH_SKINNY_GEMM), its small-M kernel's row limit (MLX_BATCH_SMALL_GEMM_ROWS), compiled
// graphs (MLX_BATCH_COMPILE: SwiGLU, decode layers) and the flags MLX's CPU kernel compiler gets
// (MLX_BATCH_CPU_JIT), attention on the CPU as compiled pieces (MLX_BATCH_CPU_ATTENTION), and the
// CPU family OpenBLAS runs its kernels for (OPENBLAS_CORETYPE can force one).
// The server's `ready` event reports them, with how much memory sits in huge pages
// (MLX_BATCH_HUGE_PAGES) and whether malloc keeps freed buffers (MLX_BATCH_MALLOC_KEEP), both
// from src/shared/malloc-tunables.ts.
import type { KernelChoices } from '../shared/protocol';
import { blasShim, cpuJit } from './mlx';
import { compileAvailable } from './model/compiled';
import { cpuAttentionRuns } from './model/sdpa';
import { smallGemmRows } from './native/blas-shim';
import { hugePageBytes } from './native/huge-pages';
import { keepsFreedBuffers } from '../shared/malloc-tunables';

export function kernelChoices(): KernelChoices {
  return { blasShim: blasShim !== undefined, smallGemmRows: blasShim ? smallGemmRows : null, compiled: compileAvailable(), cpuJitFlags: cpuJit ? cpuJit.flags.join(' ') : null, hugePageBytes: hugePageBytes(), mallocKeep: keepsFreedBuffers(process.env), cpuAttention: cpuAttentionRuns(), blasCore: blasShim?.blasCore?.() ?? null };
}

/** One line for the log: `BLAS shim on (small-M kernel up to 48 rows), compiled graphs, CPU kernels built with -O3 ..., 1420 MiB in huge pages`. */
export function describeKernels(k: KernelChoices): string {
  const shim = k.blasShim ? `BLAS shim on (small-M kernel ${k.smallGemmRows ? `up to ${k.smallGemmRows} rows` : 'off'})` : 'BLAS shim off';
  const huge = k.hugePageBytes === null ? '' : `, ${Math.round(k.hugePageBytes / 2 ** 20)} MiB in huge pages`;
  const keep = k.mallocKeep ? ', freed buffers kept by malloc' : '';
  const attention = k.cpuAttention ? ', attention as compiled pieces' : '';
  const forced = process.env.OPENBLAS_CORETYPE ? ' (forced by OPENBLAS_CORETYPE)' : '';
  const core = k.blasCore ? `, OpenBLAS kernels for ${k.blasCore}${forced}` : '';
  return `${shim}, ${k.compiled ? 'compiled graphs' : 'plain operations (no mx.compile)'}, CPU kernels built with ${k.cpuJitFlags ?? "MLX's default flags"}${huge}${keep}${attention}${core}`;
}
