// What loadModel puts in the model: sharded = single file, bf16 = rounded f32, quantized =
// its dequantized weights (both the CPU dequantize path and the kept-quantized path). Each
// load states its device; the `gpu` decision (packed, as stored) is checked by the arrays it
// produces, with no forward pass (that would need Metal).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ensureFixtureModel, type FixtureOptions } from '../../../src/server/fixtures/fixture-cache';
import type { FixtureArch } from '../../../src/server/fixtures/presets';
import { flattenParameters } from '../../../src/server/loader/check-weights';
import { loadModel, weightHolding, type LoadedModel, type LoadModelOptions, type LoadProgress } from '../../../src/server/loader/load-model';
import { estimateWeights } from '../../../src/server/loader/memory-fit';
import { readModelConfig } from '../../../src/server/loader/config';
import { findWeightFiles } from '../../../src/server/loader/weight-files';
import { MemoryReclaimer } from '../../../src/server/memory';
import { mx, type MxArray } from '../../../src/server/mlx';
import { copyModel, removeTempDirs, tempDir, TEST_MODELS_ROOT, writeJson } from '../helpers/loader-fixtures';
import { SingleSequenceCache } from '../helpers/single-cache';

const PROMPT = [1, 17, 300, 42, 7, 99, 256, 5];

function logits(m: LoadedModel, tokens = PROMPT): MxArray {
  const out = m.model.forward(mx.array([tokens], mx.int32), new SingleSequenceCache(m.args.numHiddenLayers));
  mx.eval(out);
  return out;
}

/** max |a - b| / max |b| */
function relErr(a: MxArray, b: MxArray): number {
  const num = mx.max(mx.abs(mx.subtract(a, b))).item() as number;
  return num / (mx.max(mx.abs(b)).item() as number);
}

/** Loads as on the CPU backend, whatever this machine has. */
const loadCpu = (dir: string, opts: LoadModelOptions = {}) => loadModel(dir, { device: 'cpu', ...opts });

const small = (extra: FixtureOptions = {}): FixtureOptions => ({ root: TEST_MODELS_ROOT, tokenizer: false, config: { vocab_size: 512 }, seed: 11, ...extra });

async function fixture(arch: FixtureArch, extra: FixtureOptions = {}): Promise<string> {
  const dir = await ensureFixtureModel(arch, 'tiny', small(extra));
  if (!fs.existsSync(path.join(dir, 'tokenizer.json'))) fs.writeFileSync(path.join(dir, 'tokenizer.json'), '{}');
  return dir;
}

/** A plain f32 model folder holding the dequantized weights of a quantized one. */
function dequantizedCopy(quantDir: string): string {
  const dir = copyModel(quantDir, 'dequantized');
  const file = path.join(dir, 'model.safetensors');
  const w = mx.load(file) as unknown as Record<string, MxArray>;
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  const { group_size: groupSize, bits } = config.quantization;
  const out: Record<string, MxArray> = {};
  for (const [name, a] of Object.entries(w)) {
    if (name.endsWith('.scales') || name.endsWith('.biases')) continue;
    const p = name.replace(/\.weight$/, '');
    out[name] = w[`${p}.scales`] ? mx.dequantize(a, w[`${p}.scales`], w[`${p}.biases`], groupSize, bits) : a;
  }
  mx.eval(...Object.values(out)); // before overwriting the file they are lazily read from
  mx.saveSafetensors(file, out);
  delete config.quantization;
  delete config.quantization_config;
  writeJson(path.join(dir, 'config.json'), config);
  return dir;
}

describe('loadModel weights', () => {
  after(removeTempDirs);
  it('a sharded model equals the single-file model, with progress per shard', async () => {
    const single = await loadCpu(await fixture('qwen2'));
    const progress: LoadProgress[] = [];
    const sharded = await loadCpu(await fixture('qwen2', { shards: 3 }), { onProgress: (p) => progress.push(p) });
    assert.deepEqual(progress.map((p) => p.filesDone), [1, 2, 3]);
    assert.ok(progress.every((p) => p.filesTotal === 3));
    assert.ok(progress[0].bytesDone < progress[1].bytesDone && progress[1].bytesDone < progress[2].bytesDone);
    assert.equal(progress[2].bytesDone, progress[2].bytesTotal);
    const a = flattenParameters(single.model);
    const b = flattenParameters(sharded.model);
    assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort());
    for (const [name, w] of a) assert.equal(mx.arrayEqual(w, b.get(name) as MxArray).item(), true, name);
    assert.equal(mx.arrayEqual(logits(single), logits(sharded)).item(), true);
  });

  it('a bf16 model loads as float32 on the CPU, equal to the f32 weights rounded to bf16', async () => {
    const f32 = await loadCpu(await fixture('qwen3'));
    const bf16 = await loadCpu(await fixture('qwen3', { dtype: 'bf16' }));
    const ref = flattenParameters(f32.model);
    for (const [name, w] of flattenParameters(bf16.model)) {
      assert.equal(w.dtype, mx.float32, `${name} is upcast`);
      const rounded = (ref.get(name) as MxArray).astype(mx.bfloat16).astype(mx.float32);
      assert.equal(mx.arrayEqual(w, rounded).item(), true, name);
    }
    assert.equal(bf16.weightBytes, f32.weightBytes);
    const err = relErr(logits(bf16), logits(f32));
    assert.ok(err > 0 && err < 0.05, `bf16 vs f32 logits: ${err}`);
  });

  it('float32: false keeps the stored bf16 (the Metal path)', async () => {
    const m = await loadCpu(await fixture('qwen3', { dtype: 'bf16' }), { float32: false });
    for (const [name, w] of flattenParameters(m.model)) assert.equal(w.dtype, mx.bfloat16, name);
  });

  for (const [arch, bits] of [['llama', 4], ['qwen2', 8], ['qwen3', 4]] as const) {
    it(`${arch} ${bits}-bit: dequantized and kept-quantized logits equal the model built from the dequantized weights`, async () => {
      const qdir = await fixture(arch, { quantize: bits });
      const reference = await loadCpu(dequantizedCopy(qdir));
      const want = logits(reference);

      const deq = await loadCpu(qdir);
      assert.equal(deq.quantizedKept, false);
      assert.equal(deq.quantization?.bits, bits);
      for (const [name, w] of flattenParameters(deq.model)) assert.equal(w.dtype, mx.float32, name);
      assert.ok(relErr(logits(deq), want) < 1e-4, `dequantized: ${relErr(logits(deq), want)}`);

      const kept = await loadCpu(qdir, { keepQuantized: true });
      assert.equal(kept.quantizedKept, true);
      const params = flattenParameters(kept.model);
      assert.equal(params.get('model.layers.0.mlp.up_proj.weight')?.dtype, mx.uint32);
      assert.ok(params.has('model.embed_tokens.scales'), 'the embedding is quantized too');
      assert.ok(kept.weightBytes < deq.weightBytes / 3, `packed ${kept.weightBytes} vs float ${deq.weightBytes}`);
      assert.ok(relErr(logits(kept), want) < 1e-4, `kept quantized: ${relErr(logits(kept), want)}`);
    });
  }

  it('on the gpu device a quantized model stays packed and floats stay as stored; the estimate matches', async () => {
    const dir = await fixture('qwen3', { dtype: 'bf16', quantize: 4 });
    const gpu = await loadModel(dir, { device: 'gpu' });
    assert.equal(gpu.quantizedKept, true);
    const stored = mx.load(path.join(dir, 'model.safetensors')) as unknown as Record<string, MxArray>;
    const params = flattenParameters(gpu.model);
    for (const name of ['model.layers.0.mlp.up_proj.weight', 'model.layers.0.mlp.up_proj.scales', 'model.embed_tokens.weight', 'model.norm.weight']) {
      const w = params.get(name) as MxArray;
      assert.ok(w, name);
      assert.equal(w.dtype, stored[name].dtype, `${name} keeps its stored dtype`);
      assert.deepEqual(w.shape, stored[name].shape, name);
    }
    assert.equal(params.get('model.layers.0.mlp.up_proj.weight')?.dtype, mx.uint32);
    assert.equal(params.get('model.norm.weight')?.dtype, mx.bfloat16);
    const { quantization } = readModelConfig(dir);
    assert.equal(gpu.weightBytes, estimateWeights(findWeightFiles(dir), quantization, weightHolding({ device: 'gpu' })).bytes);

    const cpu = await loadCpu(dir);
    assert.equal(cpu.quantizedKept, false);
    for (const [name, w] of flattenParameters(cpu.model)) assert.equal(w.dtype, mx.float32, name);
    assert.equal(cpu.weightBytes, estimateWeights(findWeightFiles(dir), quantization, weightHolding({ device: 'cpu' })).bytes);
    assert.ok(gpu.weightBytes < cpu.weightBytes / 4, `packed bf16 ${gpu.weightBytes} vs f32 ${cpu.weightBytes}`);
  });

  it('loads an HF repo id from the cache (temp HF_HOME)', async () => {
    const src = await fixture('llama');
    const home = tempDir('hf-load');
    const repo = path.join(home, 'hub', 'models--mlx-community--Tiny-Llama');
    const snap = path.join(repo, 'snapshots', 'abc123');
    fs.mkdirSync(snap, { recursive: true });
    fs.mkdirSync(path.join(repo, 'refs'));
    fs.writeFileSync(path.join(repo, 'refs', 'main'), 'abc123\n');
    for (const f of fs.readdirSync(src)) fs.symlinkSync(path.join(src, f), path.join(snap, f));
    const m = await loadCpu('mlx-community/Tiny-Llama', { env: { HF_HOME: home } });
    assert.equal(m.id, 'mlx-community/Tiny-Llama');
    assert.equal(m.dir, snap);
    assert.equal(m.modelType, 'llama');
    assert.equal(mx.arrayEqual(logits(m), logits(await loadCpu(src))).item(), true);
  });

  it('random fixture models have clear top-1 logits (no near-ties) for every architecture', async () => {
    for (const arch of ['llama', 'qwen2', 'qwen3'] as const) {
      const m = await loadCpu(await fixture(arch));
      const last = logits(m, PROMPT).reshape([PROMPT.length, -1]);
      const top = mx.topk(last, 2, -1) as unknown as MxArray;
      const rows = top.tolist() as number[][];
      const gaps = rows.map(([a, b]) => Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b)));
      const close = gaps.filter((g) => g < 1e-3).length;
      assert.ok(close <= 1, `${arch}: ${close} of ${rows.length} positions have a top-2 gap under 1e-3 (${gaps.map((g) => g.toFixed(4)).join(' ')})`);
      const spread = mx.std(last).item() as number;
      assert.ok(spread > 1, `${arch}: logits are nearly flat (std ${spread})`);
    }
  });

  it('repeated loads do not grow memory (intermediates are dropped)', async () => {
    const dir = await fixture('qwen3', { dtype: 'bf16', quantize: 8 });
    const reclaim = new MemoryReclaimer();
    const rss: number[] = [];
    let bytes = 0;
    for (let i = 0; i < 5; i++) {
      bytes = (await loadCpu(dir)).weightBytes;
      reclaim.collect();
      await new Promise((r) => setImmediate(r));
      reclaim.collect();
      rss.push(process.memoryUsage().rss);
    }
    const growth = rss[4] - rss[1];
    assert.ok(growth < bytes, `rss grew by ${growth} bytes over 3 loads of a ${bytes}-byte model: ${rss.map((r) => (r / 1e6).toFixed(0)).join(' ')} MB`);
  });
});
