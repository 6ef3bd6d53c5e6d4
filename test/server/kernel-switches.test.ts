// The kernel switches of the server's environment (docs/CONFIGURATION.md) set on a real server
// process: its `ready` event reports the kernels it chose, each following its variable, and the
// greedy tokens stay those of the default kernels with each switch off (the kernels are exact
// replacements). A row limit the BLAS shim would misread stops the start with a clear error. The
// server, started as the extension starts it, holds its weights in transparent huge pages, and
// MLX_BATCH_HUGE_PAGES=0 leaves them in small ones with the same tokens.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { ensureFixtureModel } from '../../src/server/fixtures';
import type { KernelChoices, ServerEvent } from '../../src/shared/protocol';
import { post } from '../http/helpers/harness';
import { AUTH, MAIN, startRealServer, stopRealServer, type RealServer } from './helpers/real-server';
import { thpMode, weightBytes } from './helpers/huge-pages';
import { isError, isReady, spawnServer } from './helpers/spawn-server';

function readCpuInfo(): string {
  try {
    return fs.readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return '';
  }
}

const linux = process.platform === 'linux';
type Kernels = Omit<KernelChoices, 'hugePageBytes' | 'blasCore'>;
const DEFAULTS: Kernels = {
  blasShim: linux, smallGemmRows: linux ? 48 : null, compiled: true, cpuJitFlags: linux ? '-O3 -march=native -ffp-contract=off -fno-trapping-math -fno-math-errno' : null, mallocKeep: linux, cpuAttention: true,
};

// Run together, so decode products have 4 rows (past MLX_BATCH_SMALL_GEMM_ROWS=2 below) and the
// prompts' prefill products more.
/** The kernel choices without the memory figure, which varies from run to run, and OpenBLAS's core, which varies by CPU. */
function kernels(k: KernelChoices | undefined): Kernels | undefined {
  if (!k) return k;
  const { hugePageBytes: _, blasCore: _core, ...rest } = k;
  return rest;
}

// The last prompt is long (about 1,300 tokens): its chunks reach the CPU attention's tall blocks and
// its two-stream path (model/sdpa.ts), which MLX_BATCH_CPU_ATTENTION=0 replaces.
const LONG_PROMPT = Array.from({ length: 80 }, (_, i) => `const value${i} = compute(${i}, "item ${i}");`).join('\n');
const PROMPTS = ['function quickSort(arr) {', 'def fibonacci(n):', 'SELECT name FROM users WHERE', 'The quick brown fox', LONG_PROMPT];

async function greedyTexts(url: string): Promise<string[]> {
  return Promise.all(PROMPTS.map(async (prompt) => {
    const res = await post(`${url}/v1/completions`, { prompt, max_tokens: 8, ignore_eos: true, temperature: 0 }, AUTH);
    assert.equal(res.status, 200);
    const body = await res.json();
    if (prompt === LONG_PROMPT) assert.ok(body.usage.prompt_tokens >= 1100, `the long prompt is ${body.usage.prompt_tokens} tokens`);
    return body.choices[0].text as string;
  }));
}

describe('server kernel switches (MLX_BATCH_SKINNY_GEMM, MLX_BATCH_SMALL_GEMM_ROWS, MLX_BATCH_COMPILE, MLX_BATCH_CPU_JIT, MLX_BATCH_MALLOC_KEEP, MLX_BATCH_CPU_ATTENTION)', function () {
  this.timeout(120_000);
  let model: string;
  let reference: string[];

  before(async () => {
    model = await ensureFixtureModel('llama', 'tiny');
  });

  describe('no variable set', () => {
    let s: RealServer;
    before(async () => { s = await startRealServer(model, [], { MLX_BATCH_SKINNY_GEMM: '', MLX_BATCH_SMALL_GEMM_ROWS: '', MLX_BATCH_COMPILE: '', MLX_BATCH_CPU_JIT: '', MLX_BATCH_CPU_ATTENTION: '', OPENBLAS_CORETYPE: '' }); });
    after(async () => { if (s) await stopRealServer(s.server); });

    it('reports the BLAS shim on, the small-M kernel up to 48 rows, compiled graphs, the CPU kernel flags, freed buffers kept and attention as compiled pieces', async () => {
      assert.deepEqual(kernels(s.ready.kernels), DEFAULTS);
      // OpenBLAS names the family it detected for this CPU.
      if (linux) assert.match(s.ready.kernels?.blasCore ?? '', /^[A-Za-z][A-Za-z0-9]+$/);
      reference = await greedyTexts(s.url);
      assert.equal(new Set(reference).size, PROMPTS.length, `different texts: ${JSON.stringify(reference)}`);
    });

    it('holds its weights in transparent huge pages (glibc\'s tunable from the launch environment)', function () {
      const huge = s.ready.kernels?.hugePageBytes;
      if (!linux) return assert.equal(huge, null);
      if (thpMode() === 'never') this.skip();
      assert.ok((huge ?? 0) >= weightBytes(model) / 2, `${huge} bytes in huge pages for ${weightBytes(model)} bytes of weights`);
    });
  });

  describe('OPENBLAS_CORETYPE', () => {
    // OpenBLAS's Haswell kernels need AVX2 and FMA: forced on a CPU without them it would stop.
    const haswellRuns = linux && process.arch === 'x64' && /^flags\s*:.*\bavx2\b.*$/m.test(readCpuInfo()) && /^flags\s*:.*\bfma\b.*$/m.test(readCpuInfo());
    let s: RealServer;
    before(async function () {
      if (!haswellRuns) this.skip();
      s = await startRealServer(model, [], { OPENBLAS_CORETYPE: 'Haswell' });
    });
    after(async () => { if (s) await stopRealServer(s.server); });

    it('reports the CPU family OpenBLAS was told to run its kernels for, with the same greedy tokens', async () => {
      assert.equal(s.ready.kernels?.blasCore, 'Haswell');
      assert.ok(reference, 'the default server ran first');
      assert.deepEqual(await greedyTexts(s.url), reference);
    });
  });

  describe('MLX_BATCH_HUGE_PAGES=0', () => {
    let s: RealServer;
    before(async () => { s = await startRealServer(model, [], { MLX_BATCH_HUGE_PAGES: '0' }); });
    after(async () => { if (s) await stopRealServer(s.server); });

    it('leaves memory in small pages and generates the same greedy tokens', async function () {
      if (linux && thpMode() === 'madvise') {
        const huge = s.ready.kernels?.hugePageBytes ?? 0;
        assert.ok(huge < weightBytes(model) / 10, `${huge} bytes in huge pages with MLX_BATCH_HUGE_PAGES=0`);
      }
      assert.ok(reference, 'the default server ran first');
      assert.deepEqual(await greedyTexts(s.url), reference);
    });
  });

  const switches: [string, NodeJS.ProcessEnv, Kernels][] = [
    ['MLX_BATCH_SKINNY_GEMM=0', { MLX_BATCH_SKINNY_GEMM: '0' }, { ...DEFAULTS, blasShim: false, smallGemmRows: null }],
    ['MLX_BATCH_SMALL_GEMM_ROWS=2', { MLX_BATCH_SMALL_GEMM_ROWS: '2' }, { ...DEFAULTS, smallGemmRows: linux ? 2 : null }],
    ['MLX_BATCH_COMPILE=0', { MLX_BATCH_COMPILE: '0' }, { ...DEFAULTS, compiled: false }],
    ['MLX_BATCH_CPU_JIT=0', { MLX_BATCH_CPU_JIT: '0' }, { ...DEFAULTS, cpuJitFlags: null }],
    ['MLX_BATCH_MALLOC_KEEP=0', { MLX_BATCH_MALLOC_KEEP: '0' }, { ...DEFAULTS, mallocKeep: false }],
    ['MLX_BATCH_CPU_ATTENTION=0', { MLX_BATCH_CPU_ATTENTION: '0' }, { ...DEFAULTS, cpuAttention: false }],
  ];
  for (const [name, env, expected] of switches) {
    describe(name, () => {
      let s: RealServer;
      before(async () => { s = await startRealServer(model, [], env); });
      after(async () => { if (s) await stopRealServer(s.server); });

      it('reports the kernel it switched, and generates the same greedy tokens', async () => {
        assert.deepEqual(kernels(s.ready.kernels), expected);
        assert.ok(reference, 'the default server ran first');
        assert.deepEqual(await greedyTexts(s.url), reference);
      });
    });
  }

  it('MLX_BATCH_SMALL_GEMM_ROWS=abc: a validation error event naming the variable, exit 1', async () => {
    const s = spawnServer(MAIN, ['--model', model, '--port', '0'], { MLX_BATCH_SMALL_GEMM_ROWS: 'abc' });
    try {
      // `ready` instead would be the bug: the start must fail before the model is served.
      const first = await s.event((e): e is Extract<ServerEvent, { event: 'error' | 'ready' }> => isError(e) || isReady(e));
      assert.deepEqual(first, { event: 'error', type: 'validation', message: 'MLX_BATCH_SMALL_GEMM_ROWS must be a whole number of rows, 0 to turn the small-M kernel off (got "abc")' });
      assert.deepEqual([(await s.exit).code], [1]);
      assert.ok(s.stderr().includes('MLX_BATCH_SMALL_GEMM_ROWS must be a whole number'), s.stderr());
    } finally {
      s.child.kill('SIGKILL');
    }
  });
});
