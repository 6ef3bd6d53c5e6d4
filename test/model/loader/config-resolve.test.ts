import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { checkModelConfig, parseQuantization, readModelConfig } from '../../../src/server/loader/config';
import { hfHubDir, listCachedModels } from '../../../src/shared/hf-cache';
import { resolveModel } from '../../../src/server/loader/resolve-model';
import { assertMlxError, removeTempDirs, tempDir, writeJson } from '../helpers/loader-fixtures';

const CONFIG = {
  model_type: 'qwen2', hidden_size: 64, num_hidden_layers: 2, intermediate_size: 128,
  num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 100, rms_norm_eps: 1e-6, rope_theta: 1e6,
  tie_word_embeddings: true,
};

describe('model config', () => {
  after(removeTempDirs);
  it('reads config.json, generation_config.json and quantization', () => {
    const d = tempDir('cfg');
    writeJson(path.join(d, 'config.json'), { ...CONFIG, quantization: { group_size: 64, bits: 4 } });
    writeJson(path.join(d, 'generation_config.json'), { eos_token_id: [1, 2] });
    const c = readModelConfig(d);
    assert.equal(c.modelType, 'qwen2');
    assert.deepEqual(c.generationConfig, { eos_token_id: [1, 2] });
    assert.equal(c.quantization?.bits, 4);
    assert.equal(c.quantization?.groupSize, 64);
  });

  it('config.json missing, invalid JSON, not an object, or without model_type', async () => {
    const d = tempDir('cfg-bad');
    await assertMlxError(() => readModelConfig(d), 'invalid_config', 'no config.json', d);
    fs.writeFileSync(path.join(d, 'config.json'), '{"model_type": "llama",');
    await assertMlxError(() => readModelConfig(d), 'invalid_config', 'config.json is not valid JSON');
    fs.writeFileSync(path.join(d, 'config.json'), '[1, 2]');
    await assertMlxError(() => readModelConfig(d), 'invalid_config', 'JSON object');
    writeJson(path.join(d, 'config.json'), { hidden_size: 5 });
    await assertMlxError(() => readModelConfig(d), 'invalid_config', '"model_type"');
  });

  it('invalid generation_config.json is an error, a missing one is not', async () => {
    const d = tempDir('gen');
    writeJson(path.join(d, 'config.json'), CONFIG);
    assert.equal(readModelConfig(d).generationConfig, undefined);
    fs.writeFileSync(path.join(d, 'generation_config.json'), '{');
    await assertMlxError(() => readModelConfig(d), 'invalid_config', 'generation_config.json is not valid JSON');
  });

  it('names a field of the wrong type', async () => {
    checkModelConfig(CONFIG);
    await assertMlxError(() => checkModelConfig({ ...CONFIG, hidden_size: '64' }), 'invalid_config', '"hidden_size"', 'positive integer');
    await assertMlxError(() => checkModelConfig({ ...CONFIG, vocab_size: undefined }), 'invalid_config', '"vocab_size"');
    await assertMlxError(() => checkModelConfig({ ...CONFIG, rms_norm_eps: -1 }), 'invalid_config', '"rms_norm_eps"');
    await assertMlxError(() => checkModelConfig({ ...CONFIG, tie_word_embeddings: 'yes' }), 'invalid_config', '"tie_word_embeddings"');
    await assertMlxError(() => checkModelConfig({ ...CONFIG, num_key_value_heads: 3 }), 'invalid_config', 'divisor');
    await assertMlxError(() => checkModelConfig({ ...CONFIG, mlp_bias: 1 }), 'invalid_config', '"mlp_bias"', 'true or false');
    await assertMlxError(() => checkModelConfig({ ...CONFIG, hidden_size: 66 }), 'invalid_config', '"hidden_size"', 'multiple of num_attention_heads');
    await assertMlxError(() => checkModelConfig({ ...CONFIG, hidden_size: 68 }), 'invalid_config', '"hidden_size"', 'even head size');
    await assertMlxError(() => checkModelConfig({ ...CONFIG, head_dim: 15 }), 'invalid_config', '"head_dim"', 'even');
    await assertMlxError(() => checkModelConfig({ ...CONFIG, rope_scaling: { type: 'yarn', factor: 4 } }), 'invalid_config', "'yarn'", 'linear, llama3');
    await assertMlxError(() => checkModelConfig({ ...CONFIG, model_type: 'gemma3' }), 'unsupported_model', '"gemma3"', 'qwen2');
  });

  it('quantization: quantization_config, per-layer entries, and formats that are not MLX', async () => {
    const q = parseQuantization({ quantization_config: { group_size: 32, bits: 8, 'lm_head': false, 'model.layers.0.mlp.down_proj': { group_size: 64, bits: 4 } } });
    assert.equal(q?.groupSize, 32);
    assert.equal(q?.bits, 8);
    assert.equal(q?.layers.get('lm_head'), false);
    assert.deepEqual(q?.layers.get('model.layers.0.mlp.down_proj'), { groupSize: 64, bits: 4 });
    assert.equal(parseQuantization(CONFIG), undefined);
    await assertMlxError(() => parseQuantization({ quantization_config: { quant_method: 'gptq', bits: 4 } }), 'unsupported_model', 'gptq');
    await assertMlxError(() => parseQuantization({ quantization: { group_size: 64, bits: 'four' } }), 'invalid_config', 'bits must be a positive integer');
    await assertMlxError(() => parseQuantization({ quantization: { group_size: 64, bits: 7 } }), 'unsupported_model', 'bits 7, group_size 64');
    await assertMlxError(() => parseQuantization({ quantization: { group_size: 64, bits: 4, mode: 'mxfp4' } }), 'unsupported_model', 'mxfp4');
  });
});

describe('model resolution', () => {
  after(removeTempDirs);
  function fakeModel(dir: string, config: object = CONFIG, extra: Record<string, string> = {}): void {
    writeJson(path.join(dir, 'config.json'), config);
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), '{}');
    fs.writeFileSync(path.join(dir, 'model.safetensors'), Buffer.alloc(1000));
    for (const [f, text] of Object.entries(extra)) fs.writeFileSync(path.join(dir, f), text);
  }

  /** An HF cache snapshot laid out as huggingface_hub does: blobs, symlinks, refs/main. */
  function cacheModel(hub: string, id: string, revs: string[], main?: string, config: object = CONFIG): string[] {
    const repo = path.join(hub, `models--${id.replace('/', '--')}`);
    const dirs = revs.map((rev) => {
      const snap = path.join(repo, 'snapshots', rev);
      fs.mkdirSync(snap, { recursive: true });
      fakeModel(snap, config);
      const blob = path.join(repo, 'blobs', `${rev}-weights`);
      fs.mkdirSync(path.dirname(blob), { recursive: true });
      fs.renameSync(path.join(snap, 'model.safetensors'), blob);
      fs.symlinkSync(blob, path.join(snap, 'model.safetensors'));
      return snap;
    });
    if (main) {
      fs.mkdirSync(path.join(repo, 'refs'), { recursive: true });
      fs.writeFileSync(path.join(repo, 'refs', 'main'), main);
    }
    return dirs;
  }

  it('a folder path, absolute or relative', () => {
    const d = tempDir('folder');
    assert.deepEqual(resolveModel(d), { dir: d, id: path.basename(d), source: 'folder' });
    assert.equal(resolveModel(path.relative(process.cwd(), d)).dir, d);
  });

  it('a missing folder, or a file, is model_not_found', async () => {
    const d = tempDir('missing');
    await assertMlxError(() => resolveModel(path.join(d, 'nope')), 'model_not_found', 'does not exist', path.join(d, 'nope'));
    fs.writeFileSync(path.join(d, 'file'), 'x');
    await assertMlxError(() => resolveModel(path.join(d, 'file')), 'model_not_found', 'is a file');
  });

  it('an HF repo id from the cache, preferring refs/main over newer snapshots', () => {
    const home = tempDir('hfhome');
    const hub = path.join(home, 'hub');
    const [main] = cacheModel(hub, 'mlx-community/Tiny-4bit', ['aaa', 'bbb'], 'aaa');
    fs.utimesSync(path.join(path.dirname(main), 'bbb'), new Date(), new Date(Date.now() + 10_000));
    const env = { HF_HOME: home };
    assert.deepEqual(resolveModel('mlx-community/Tiny-4bit', env), { dir: main, id: 'mlx-community/Tiny-4bit', source: 'hf-cache' });
  });

  it('without refs/main, the newest snapshot; HF_HUB_CACHE wins over HF_HOME', () => {
    const hub = path.join(tempDir('hubcache'), 'hub');
    const [older, newer] = cacheModel(hub, 'org/name', ['r1', 'r2']);
    fs.utimesSync(older, new Date(), new Date(Date.now() - 60_000));
    const env = { HF_HUB_CACHE: hub, HF_HOME: tempDir('other-home') };
    assert.equal(hfHubDir(env), hub);
    assert.equal(resolveModel('org/name', env).dir, newer);
  });

  it('an id that is not cached names where it looked and how to download it', async () => {
    const home = tempDir('hfempty');
    await assertMlxError(() => resolveModel('org/absent', { HF_HOME: home }), 'model_not_found', 'models--org--absent', 'huggingface-cli download org/absent');
  });

  it('lists the cached MLX models with type, size and quantization', () => {
    const hub = path.join(tempDir('hublist'), 'hub');
    cacheModel(hub, 'mlx-community/Qwen-4bit', ['r1'], 'r1', { ...CONFIG, quantization: { group_size: 64, bits: 4 } });
    cacheModel(hub, 'meta/llama', ['r1'], 'r1', { ...CONFIG, model_type: 'llama' });
    const notMlx = path.join(hub, 'models--org--torch-only', 'snapshots', 'r1');
    fs.mkdirSync(notMlx, { recursive: true });
    writeJson(path.join(notMlx, 'config.json'), CONFIG);
    fs.writeFileSync(path.join(notMlx, 'pytorch_model.bin'), 'x');
    fs.mkdirSync(path.join(hub, 'datasets--org--data'), { recursive: true });
    const list = listCachedModels(hub);
    assert.deepEqual(list.map((m) => m.id), ['meta/llama', 'mlx-community/Qwen-4bit']);
    const q = list[1];
    assert.equal(q.modelType, 'qwen2');
    assert.deepEqual(q.quantization, { bits: 4, groupSize: 64 });
    assert.equal(list[0].quantization, undefined);
    const expectedBytes = fs.readdirSync(q.path).reduce((s, f) => s + fs.statSync(path.join(q.path, f)).size, 0);
    assert.equal(q.sizeBytes, expectedBytes);
    assert.ok(q.sizeBytes >= 1000, 'symlinked blobs are counted');
    assert.deepEqual(listCachedModels(path.join(hub, 'nope')), []);
  });
});
