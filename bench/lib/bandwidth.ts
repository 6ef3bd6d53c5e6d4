// The machine's read bandwidth, measured with the best tool available: sysbench (Debian's
// `sysbench`), else a small C probe built with cc (bench/native/read-bandwidth.c), else a
// JavaScript worker-thread probe (a lower bound: V8 does not vectorise it).
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { buildNative } from './native';

export interface Bandwidth {
  /** Best sample in GiB/s: other load on the host only ever lowers a sample. */
  gibPerSec: number;
  medianGibPerSec: number;
  method: string;
  samples: number[];
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];

function summarise(method: string, samples: number[]): Bandwidth {
  return { gibPerSec: Math.max(...samples), medianGibPerSec: median(samples), method, samples };
}

function has(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

function sysbench(threads: number, reps: number): Bandwidth | undefined {
  if (!has('sysbench')) return undefined;
  const args = ['memory', '--memory-oper=read', '--memory-block-size=1G', '--memory-total-size=32G', `--threads=${threads}`, 'run'];
  const samples: number[] = [];
  for (let i = 0; i < reps; i++) {
    const out = execFileSync('sysbench', args, { encoding: 'utf8' });
    const m = /\(([\d.]+) MiB\/sec\)/.exec(out);
    if (m) samples.push(Number(m[1]) / 1024);
  }
  return samples.length ? summarise(`sysbench memory read, 1 GiB blocks, ${threads} threads, ${reps} runs`, samples) : undefined;
}

function cProbe(threads: number, reps: number): Bandwidth | undefined {
  const exe = buildNative('read-bandwidth.c', 'executable');
  if (!exe) return undefined;
  try {
    const out = execFileSync(exe, [String(threads), String(reps), '1024'], { encoding: 'utf8' });
    const samples = out.trim().split('\n').map(Number).filter((x) => x > 0);
    return samples.length ? summarise(`C AVX2 read probe (bench/native/read-bandwidth.c), 1 GiB, ${threads} threads, ${reps} runs`, samples) : undefined;
  } catch {
    return undefined;
  }
}

const WORKER = `
const { parentPort, workerData: { sab, lo, hi } } = require('node:worker_threads');
const a = new Float64Array(sab);
parentPort.on('message', () => {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (let k = lo; k < hi; k += 4) { s0 += a[k]; s1 += a[k + 1]; s2 += a[k + 2]; s3 += a[k + 3]; }
  parentPort.postMessage(s0 + s1 + s2 + s3);
});`;

async function jsProbe(threads: number, reps: number): Promise<Bandwidth> {
  const bytes = 1 << 30;
  const sab = new SharedArrayBuffer(bytes);
  new Float64Array(sab).fill(1);
  const n = bytes / 8 / threads;
  const workers = Array.from({ length: threads }, (_, i) => new Worker(WORKER, { eval: true, workerData: { sab, lo: n * i, hi: n * (i + 1) } }));
  const pass = (): Promise<unknown[]> => Promise.all(workers.map((w) => new Promise((resolve) => { w.once('message', resolve); w.postMessage('go'); })));
  const samples: number[] = [];
  try {
    await pass();
    for (let i = 0; i < reps; i++) {
      const t = performance.now();
      await pass();
      samples.push(bytes / ((performance.now() - t) / 1000) / 2 ** 30);
    }
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return summarise(`JavaScript worker probe, 1 GiB, ${threads} threads, ${reps} runs (lower bound)`, samples);
}

/** Measures with the first available method; `threads` defaults to every core. */
export async function measureReadBandwidth(threads = os.cpus().length, reps = 5): Promise<Bandwidth> {
  return sysbench(threads, reps) ?? cProbe(threads, reps) ?? (await jsProbe(threads, reps));
}

/** Every available method, for comparing them. */
export async function measureAllBandwidths(threads = os.cpus().length, reps = 5): Promise<Bandwidth[]> {
  return [sysbench(threads, reps), cProbe(threads, reps), await jsProbe(threads, reps)].filter((b): b is Bandwidth => b !== undefined);
}
