// The memory check before loading: the weights as they will be held and the KV cache, from
// config.json and the safetensors headers only, against the memory available; the KV budget
// picked from what is left; a clear refusal with the figures when a model does not fit.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureFixtureModel, type FixtureOptions } from '../../../src/server/fixtures/fixture-cache';
import { fixtureConfig } from '../../../src/server/fixtures/presets';
import { openInference } from '../../../src/server/inference';
import { checkModelConfig, readModelConfig } from '../../../src/server/loader/config';
import { loadModel, weightHolding } from '../../../src/server/loader/load-model';
import { describeContextCap, estimateWeights, kvBytesPerToken, planMemory, type WeightHolding } from '../../../src/server/loader/memory-fit';
import { findWeightFiles } from '../../../src/server/loader/weight-files';
import { availableMemory, parseMemAvailable, type AvailableMemory } from '../../../src/server/memory';
import { llamaArgs } from '../../../src/server/model/llama';
import { writeHeaderOnlyModel, llama70bConfig } from '../helpers/header-only-model';
import { assertMlxError, removeTempDirs, tempDir, TEST_MODELS_ROOT } from '../helpers/loader-fixtures';

const CPU: WeightHolding = weightHolding({ device: 'cpu' });
const GPU: WeightHolding = weightHolding({ device: 'gpu' });
const mem = (bytes: number): AvailableMemory => ({ bytes, source: 'test figure' });

// The tiny llama of the loader tests with a 512-token vocabulary: untied, D 256, 2 layers,
// 4 heads of 64 (2 KV heads), F 512. Parameters: embed and lm_head 512 x 256 each (262,144),
// per layer 2 x 65,536 (q, o) + 2 x 32,768 (k, v) + 3 x 131,072 (MLP) + 512 (norms) = 590,336,
// final norm 256: 1,443,072, of which 1,280 are norms and 1,441,792 quantizable.
const TINY_F32_BYTES = 1_443_072 * 4; // 5,772,288
// 4-bit, group 64: 0.5 byte per weight packed + scales and biases, 2 per 64 weights.
const TINY_Q4_F32_SCALES_BYTES = 1_441_792 * (0.5 + (2 * 4) / 64) + 1_280 * 4; // 906,240
const TINY_Q4_BF16_SCALES_BYTES = 1_441_792 * (0.5 + (2 * 2) / 64) + 1_280 * 2; // 813,568
const TINY_KV_PER_TOKEN = 2 * 2 * 2 * 64 * 4; // layers x (k, v) x kv heads x head dim x f32 = 2,048
const TINY_CONTEXT = 4096;

const tiny = async (extra: FixtureOptions = {}): Promise<string> => {
  const dir = await ensureFixtureModel('llama', 'tiny', { root: TEST_MODELS_ROOT, tokenizer: false, config: { vocab_size: 512 }, seed: 11, ...extra });
  if (!fs.existsSync(path.join(dir, 'tokenizer.json'))) fs.writeFileSync(path.join(dir, 'tokenizer.json'), '{}');
  return dir;
};

function estimate(dir: string, holding: WeightHolding) {
  return estimateWeights(findWeightFiles(dir), readModelConfig(dir).quantization, holding);
}

describe('memory check: the estimate', () => {
  after(removeTempDirs);

  it('decides how weights are held once: float32 and dequantized on the CPU, as stored on a GPU', () => {
    assert.deepEqual(CPU, { keepQuantized: false, float32: true });
    assert.deepEqual(GPU, { keepQuantized: true, float32: false });
    assert.deepEqual(weightHolding({ keepQuantized: true, device: 'cpu' }), { keepQuantized: true, float32: true });
  });

  it('the 0.5b llama shape in f32, from headers only: 1.55 GB of weights, 24 KiB of KV per token', () => {
    // vocab 32,000 x 896 tied embedding (28,672,000) + 24 layers x 14,911,232 + 896 = 386,542,464 parameters.
    const dir = tempDir('mem-05b');
    const file = writeHeaderOnlyModel(dir, fixtureConfig('llama', '0.5b', 'f32'));
    assert.equal(fs.statSync(file).size - 8 > 1_546_169_856, true);
    assert.ok(fs.statSync(file).blocks * 512 < 1 << 20, 'the weight file is sparse: no data on disk');
    for (const holding of [CPU, GPU]) {
      const e = estimate(dir, holding);
      assert.equal(e.bytes, 1_546_169_856);
      assert.equal(e.kvElementBytes, 4);
    }
    const args = llamaArgs(checkModelConfig(fixtureConfig('llama', '0.5b', 'f32')));
    assert.equal(kvBytesPerToken(args, 4), 24 * 2 * 2 * 64 * 4);
    assert.equal(kvBytesPerToken(args, 4) * 65_536, 1_610_612_736); // the fixed budget of before: 1.6 GB
    // The same shape in bf16: upcast to float32 on the CPU, half the bytes (and a bf16 KV) on a GPU.
    const bf16 = tempDir('mem-05b-bf16');
    writeHeaderOnlyModel(bf16, fixtureConfig('llama', '0.5b', 'bf16'), { dtype: 'BF16' });
    assert.deepEqual([estimate(bf16, CPU).bytes, estimate(bf16, CPU).kvElementBytes], [1_546_169_856, 4]);
    assert.deepEqual([estimate(bf16, GPU).bytes, estimate(bf16, GPU).kvElementBytes], [773_084_928, 2]);
    assert.equal(estimate(bf16, CPU).heldAs, 'float32, bf16 upcast');
  });

  it('a 4-bit folder: dequantized to float32 on the CPU, packed on a GPU', async () => {
    const q4 = await tiny({ quantize: 4 });
    assert.equal(estimate(q4, CPU).bytes, TINY_F32_BYTES);
    assert.equal(estimate(q4, CPU).heldAs, 'float32, 4-bit weights dequantized');
    assert.equal(estimate(q4, GPU).bytes, TINY_Q4_F32_SCALES_BYTES);
    const q4bf16 = await tiny({ quantize: 4, dtype: 'bf16' });
    assert.equal(estimate(q4bf16, CPU).bytes, TINY_F32_BYTES);
    assert.deepEqual([estimate(q4bf16, GPU).bytes, estimate(q4bf16, GPU).kvElementBytes], [TINY_Q4_BF16_SCALES_BYTES, 2]);
    assert.equal(estimate(q4bf16, GPU).heldAs, '4-bit weights packed');
  });

  it('equals the bytes the loaded parameters take, for each way of holding them', async () => {
    const cases: [string, Parameters<typeof loadModel>[1]][] = [
      [await tiny(), {}],
      [await tiny({ dtype: 'bf16' }), {}],
      [await tiny({ dtype: 'bf16' }), { float32: false }],
      [await tiny({ quantize: 4 }), {}],
      [await tiny({ quantize: 4, dtype: 'bf16' }), { keepQuantized: true, float32: false }],
      [await tiny({ quantize: 8 }), { keepQuantized: true }],
    ];
    for (const [dir, opts] of cases) {
      const loaded = await loadModel(dir, { ...opts, device: 'cpu' });
      assert.equal(loaded.memory.weightBytes, loaded.weightBytes, `${path.basename(dir)} ${JSON.stringify(opts)}`);
      assert.equal(loaded.memory.weightBytes, estimate(dir, weightHolding({ ...opts, device: 'cpu' })).bytes);
    }
  });
});

describe('memory check: the KV budget and the refusal', () => {
  after(removeTempDirs);

  const plan = (available: number, requestedKvTokens?: number) => planMemory({
    model: 'tiny', weights: { bytes: TINY_F32_BYTES, kvElementBytes: 4, heldAs: 'float32' }, holding: CPU,
    kvBytesPerToken: TINY_KV_PER_TOKEN, contextLength: TINY_CONTEXT, available: mem(available), requestedKvTokens,
  });

  it('picks the budget from the memory left after the weights and the headroom (10% + 512 MiB)', () => {
    // 700 MB: headroom 70,000,000 + 536,870,912; left 700,000,000 - 606,870,912 - 5,772,288 = 87,356,800;
    // half of it holds 21,327 tokens of 2,048 bytes.
    const p = plan(700_000_000);
    assert.deepEqual([p.kvBudgetTokens, p.derived, p.headroomBytes, p.kvBytes, p.bufferCacheBytes], [21_327, true, 606_870_912, 21_327 * 2048, 303_435_456]);
    // A lot of memory: the cap of 65,536 tokens.
    assert.equal(plan(24e9).kvBudgetTokens, 65_536);
    // 620 MB: half of what is left holds 3,749 tokens, but never less than one full context (4,096).
    assert.equal(plan(620_000_000).kvBudgetTokens, TINY_CONTEXT);
  });

  it('checks an explicit budget too: it wins when it fits, else the figures say how much fits', async () => {
    assert.deepEqual([plan(700_000_000, 40_000).kvBudgetTokens, plan(700_000_000, 40_000).derived], [40_000, false]);
    assert.equal(plan(700_000_000, 1_000).kvBudgetTokens, 1_000);
    // 87,356,800 bytes left hold 42,654 tokens.
    await assertMlxError(() => plan(700_000_000, 50_000), 'insufficient_memory',
      'the KV budget does not (at most 42,654 tokens fit)', 'KV cache: 0.10 GB for the KV budget of 50,000 tokens you set', '--kv-budget');
  });

  it('serves a shorter context when a full one does not fit, and refuses below 2,048 tokens or when the weights alone do not fit', async () => {
    // 612 MB: 8,156,800 bytes left hold 3,982 tokens, fewer than the 4,096 of one context: that is
    // the budget, and the context served.
    const short = plan(612_000_000);
    assert.deepEqual([short.kvBudgetTokens, short.contextTokens, short.derived], [3_982, 3_982, true]);
    assert.match(describeContextCap(short, TINY_CONTEXT) ?? '', /^serving a context of 3,982 tokens: the model declares 4,096 tokens, whose KV cache \(0\.01 GB\) does not fit in the memory left; longer prompts are refused$/);
    assert.equal(describeContextCap(plan(700_000_000), TINY_CONTEXT), undefined);
    // An explicit budget below the context caps it too.
    assert.equal(plan(700_000_000, 1_000).contextTokens, 1_000);
    // 605 MB: 1,856,800 bytes left hold 906 tokens, fewer than 2,048.
    await assertMlxError(() => plan(605_000_000), 'insufficient_memory',
      'tiny does not fit in the memory available: the weights fit, but not even the KV cache of a 2,048 tokens context does (at most 906 tokens fit)',
      'available: 0.60 GB (test figure), of which 0.60 GB is kept as headroom');
    const e = await assertMlxError(() => plan(600_000_000), 'insufficient_memory',
      'the weights alone take more than there is', 'Weights: 0.01 GB as held (float32)', 'KV cache: 0.01 GB for one context of 4,096 tokens',
      'use a smaller model (the CPU backend holds every weight as float32', 'run on a Mac with Apple silicon', '"mlxBatch.backend": "remote"');
    assert.doesNotMatch(e.message, /--kv-budget/);
  });

  it('loadModel plans before it reads weights, and openInference gives the runner the budget', async () => {
    const dir = await tiny();
    const lines: string[] = [];
    const loaded = await loadModel(dir, { device: 'cpu', availableMemory: mem(700_000_000), log: (l) => lines.push(l) });
    assert.equal(loaded.memory.kvBudgetTokens, 21_327);
    assert.match(lines.join('\n'), /^memory: weights 0\.01 GB \(float32\), KV cache 0\.04 GB \(budget 21,327 tokens x 2,048 bytes, chosen from the memory left\), available 0\.70 GB \(test figure\), headroom 0\.61 GB \(MLX's buffer cache at most 0\.30 GB\)$/);
    await assertMlxError(() => loadModel(dir, { device: 'cpu', availableMemory: mem(700_000_000), kvBudgetTokens: 50_000 }), 'insufficient_memory', 'at most 42,654 tokens fit');

    const withTokenizer = await ensureFixtureModel('llama', 'tiny', { root: TEST_MODELS_ROOT });
    const inf = await openInference(withTokenizer, { load: { availableMemory: mem(4e9) } });
    assert.equal(inf.runner.stats().kvBudgetTokens, inf.loaded.memory.kvBudgetTokens);
    const small = await openInference(withTokenizer, { runner: { kvBudgetTokens: 3000 } });
    assert.equal(small.runner.stats().kvBudgetTokens, 3000);
    // A budget below the model's context is the context the engine serves.
    assert.ok(small.loaded.model.args.maxPositionEmbeddings > 3000);
    assert.equal(small.engine.contextLength, 3000);
    assert.equal(inf.engine.contextLength, Math.min(inf.loaded.model.args.maxPositionEmbeddings, inf.loaded.memory.kvBudgetTokens));
  });

  it('a model folder that claims more than the machine has is refused from its headers alone', async function () {
    const dir = tempDir('mem-70b');
    // model.norm.weight is left out: a load that got past the check would fail on it, not read 141 GB.
    const file = writeHeaderOnlyModel(dir, llama70bConfig(), { dtype: 'BF16', omit: ['model.norm.weight'] });
    if (os.totalmem() > 300e9) this.skip();
    assert.ok(fs.statSync(file).size > 140e9 && fs.statSync(file).blocks * 512 < 1 << 20);
    const read: string[] = [];
    const e = await assertMlxError(() => loadModel(dir, { device: 'cpu', onProgress: (p) => read.push(p.file) }), 'insufficient_memory', `${path.basename(dir)} does not fit in the memory available`,
      'the weights alone take more than there is', 'Weights: 282.2 GB as held (float32, bf16 upcast)', 'KV cache: 5.37 GB for one context of 8,192 tokens',
      `(${availableMemory().source})`, '"mlxBatch.backend": "remote"');
    // The loader reports each weight file it has read; a check after reading would have reported
    // this one (or still be reading 141 GB when mocha's timeout fails the test).
    assert.deepEqual(read, [], 'no weight data was read');
    assert.equal(e.status, 500);
  });

  it('reads MemAvailable from /proc/meminfo where there is one', function () {
    assert.equal(parseMemAvailable('MemTotal:       24576000 kB\nMemFree:          100000 kB\nMemAvailable:   20000000 kB\n'), 20_000_000 * 1024);
    assert.equal(parseMemAvailable('MemTotal: 1 kB\n'), undefined);
    if (!fs.existsSync('/proc/meminfo')) this.skip();
    const a = availableMemory();
    assert.equal(a.source, 'MemAvailable');
    const now = parseMemAvailable(fs.readFileSync('/proc/meminfo', 'utf8')) as number;
    assert.ok(Math.abs(a.bytes - now) < 0.1 * now && a.bytes <= os.totalmem());
  });
});
