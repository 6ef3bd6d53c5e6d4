// The compiler MLX's CPU backend runs for mx.compile. MLX writes each fused elementwise kernel
// as C++ into the temp folder and builds it with `g++ -std=c++17 -O2 -Wall -fPIC -shared` from
// PATH: no target flags, so no AVX, and its exp (a polynomial behind infinity and NaN branches)
// keeps every loop scalar. This process gives MLX a compiler that adds target flags: a `g++`
// script in a folder of its own, first on PATH, that runs the real compiler with
// -O3 -march=native -ffp-contract=off -fno-trapping-math -fno-math-errno (IEEE semantics kept, no
// fast-math, no fused multiply-adds: bit for bit the numbers of MLX's own kernels; the branches
// become selects and the loops vectorize). TMPDIR points at the same
// folder, so kernels built with other flags (MLX keys its cache by kernel only) are never reused;
// the folder's name holds a hash of the flags, compiler and CPU. Measured in docs/PERFORMANCE.md
// (the fused SwiGLU of a 1,024-token prompt layer 6x faster on an AVX-512 Xeon).
// Linux only (on a Mac, MLX runs on Metal); MLX_BATCH_CPU_JIT=0 leaves MLX's own command.
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** What MLX's compiler command gets added. */
export const CPU_JIT_FLAGS = ['-O3', '-march=native', '-ffp-contract=off', '-fno-trapping-math', '-fno-math-errno'];
/** The command name MLX runs (mlx/backend/common/compiled_cpu.cpp). */
const COMPILER = 'g++';
/** The script's second line: a `g++` that has it is one of ours, never the real compiler. */
const MARK = '# mlx-batch: MLX CPU kernel compiler';

export interface CpuJit {
  /** The folder holding the `g++` script and MLX's kernel sources and libraries. */
  dir: string;
  /** The real compiler the script runs. */
  compiler: string;
  flags: string[];
}

/** The first `name` on PATH that is an executable file and not one of our scripts. */
function realOnPath(name: string, pathVar: string): string | undefined {
  for (const dir of pathVar.split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile() && !fs.readFileSync(file).subarray(0, 256).toString('latin1').includes(MARK)) return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The CPU's model and feature flags, so that kernels built for one CPU are not run on another. */
function cpuIdentity(): string {
  try {
    const info = fs.readFileSync('/proc/cpuinfo', 'utf8');
    return [/^model name\s*:.*$/m, /^flags\s*:.*$/m].map((re) => info.match(re)?.[0] ?? '').join('\n');
  } catch {
    return os.cpus()[0]?.model ?? '';
  }
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Puts the compiler script first on this process's PATH and TMPDIR on its folder (created under
 * `root` when missing). Undefined, changing nothing, when there is no real compiler on PATH or it
 * refuses the flags; MLX then compiles as it does by default.
 */
export function installCpuJit(root: string, env: NodeJS.ProcessEnv = process.env): CpuJit | undefined {
  const compiler = realOnPath(COMPILER, env.PATH ?? '');
  if (!compiler) return undefined;
  const key = createHash('sha256').update([compiler, CPU_JIT_FLAGS.join(' '), cpuIdentity()].join('\n')).digest('hex').slice(0, 12);
  const dir = path.join(root, key);
  const script = path.join(dir, COMPILER);
  if (!fs.existsSync(script)) {
    // Flags this compiler does not know would make every compile fail: checked once per folder.
    const probe = spawnSync(compiler, [...CPU_JIT_FLAGS, '-x', 'c++', '-E', '-o', os.devNull, os.devNull], { stdio: 'ignore', timeout: 30_000 });
    if (probe.status !== 0) return undefined;
    fs.mkdirSync(dir, { recursive: true });
    const tmp = `${script}.${process.pid}`;
    fs.writeFileSync(tmp, `#!/bin/sh\n${MARK}\nexec ${quote(compiler)} "$@" ${CPU_JIT_FLAGS.join(' ')}\n`, { mode: 0o755 });
    fs.renameSync(tmp, script);
  }
  env.PATH = [dir, ...(env.PATH ?? '').split(path.delimiter).filter((d) => d && path.resolve(d) !== dir)].join(path.delimiter);
  env.TMPDIR = dir;
  return { dir, compiler, flags: CPU_JIT_FLAGS };
}

/** ~/.cache/mlx-batch/cpu-kernels (XDG_CACHE_HOME honoured). */
export function defaultCpuJitRoot(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'mlx-batch', 'cpu-kernels');
}

/** Called once by mlx.ts before node-mlx is loaded: the compiler set up for this process, or undefined. */
export function setUpCpuJit(): CpuJit | undefined {
  if (process.platform !== 'linux' || process.env.MLX_BATCH_CPU_JIT === '0') return undefined;
  try {
    return installCpuJit(defaultCpuJitRoot());
  } catch (e) {
    process.stderr.write(`mlx-batch: MLX's CPU kernels keep its default compiler flags (${(e as Error).message})\n`);
    return undefined;
  }
}
