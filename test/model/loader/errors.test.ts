// Every model-folder error, through loadModel: each broken input gets its own clear message.
import fs from 'node:fs';
import path from 'node:path';
import { ensureFixtureModel } from '../../../src/server/fixtures/fixture-cache';
import { loadModel } from '../../../src/server/loader/load-model';
import { mx, type MxArray } from '../../../src/server/mlx';
import { assertMlxError, copyModel, removeTempDirs, TEST_MODELS_ROOT, writeJson } from '../helpers/loader-fixtures';

/** Every tensor of a file, evaluated, so the file can then be overwritten. */
function load(file: string): Record<string, MxArray> {
  const w = mx.load(file) as unknown as Record<string, MxArray>;
  mx.eval(...Object.values(w));
  return w;
}
const readJson = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));

describe('loadModel errors', () => {
  after(removeTempDirs);
  let base: string;
  let base4bit: string;

  /** A damageable copy of a tiny model (small vocabulary; tokenizer.json is only checked for presence). */
  function model(src = base): string {
    const dir = copyModel(src, 'bad-model');
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), '{}');
    return dir;
  }

  before(async () => {
    const opts = { root: TEST_MODELS_ROOT, tokenizer: false, config: { vocab_size: 512 } };
    base = await ensureFixtureModel('llama', 'tiny', opts);
    base4bit = await ensureFixtureModel('llama', 'tiny', { ...opts, quantize: 4 });
  });

  it('loads the undamaged fixture (so the failures below are the damage)', async () => {
    await loadModel(model());
  });

  it('folder missing', async () => {
    await assertMlxError(() => loadModel(path.join(base, 'no-such-folder')), 'model_not_found', 'no-such-folder', 'does not exist');
  });

  it('config.json missing or invalid', async () => {
    const dir = model();
    fs.writeFileSync(path.join(dir, 'config.json'), '{"model_type": "llama", ');
    await assertMlxError(() => loadModel(dir), 'invalid_config', 'config.json is not valid JSON');
    fs.rmSync(path.join(dir, 'config.json'));
    await assertMlxError(() => loadModel(dir), 'invalid_config', 'no config.json');
  });

  it('config.json with a field of the wrong type', async () => {
    const dir = model();
    writeJson(path.join(dir, 'config.json'), { ...readJson(path.join(dir, 'config.json')), num_hidden_layers: 'two' });
    await assertMlxError(() => loadModel(dir), 'invalid_config', '"num_hidden_layers"');
  });

  it('unsupported model_type lists the supported ones', async () => {
    const dir = model();
    writeJson(path.join(dir, 'config.json'), { ...readJson(path.join(dir, 'config.json')), model_type: 'gemma3' });
    await assertMlxError(() => loadModel(dir), 'unsupported_model', '"gemma3"', 'llama', 'qwen2', 'qwen3');
  });

  it('missing tensors are named and counted', async () => {
    const dir = model();
    const file = path.join(dir, 'model.safetensors');
    const w = load(file);
    delete w['model.layers.1.mlp.up_proj.weight'];
    delete w['model.norm.weight'];
    mx.saveSafetensors(file, w);
    await assertMlxError(() => loadModel(dir), 'missing_tensors', 'lack 2 of', 'model.layers.1.mlp.up_proj.weight', 'model.norm.weight');
  });

  it('tensors the model does not use are named', async () => {
    const dir = model();
    const file = path.join(dir, 'model.safetensors');
    mx.saveSafetensors(file, { ...load(file), 'model.layers.0.self_attn.q_norm.weight': mx.ones([64]) });
    await assertMlxError(() => loadModel(dir), 'unexpected_tensors', 'model.layers.0.self_attn.q_norm.weight');
  });

  it('shape mismatch names the tensor, the expected and the actual shape', async () => {
    const dir = model();
    writeJson(path.join(dir, 'config.json'), { ...readJson(path.join(dir, 'config.json')), intermediate_size: 1024 });
    await assertMlxError(() => loadModel(dir), 'shape_mismatch', 'model.layers.0.mlp.down_proj.weight: expected [256, 1024], got [256, 512]');
  });

  it('truncated safetensors', async () => {
    const dir = model();
    const file = path.join(dir, 'model.safetensors');
    fs.truncateSync(file, fs.statSync(file).size - 1000);
    await assertMlxError(() => loadModel(dir), 'corrupt_weights', 'model.safetensors', 'truncated');
  });

  it('corrupt safetensors header', async () => {
    const dir = model();
    const file = path.join(dir, 'model.safetensors');
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from('{"broken'), 0, 8, 12);
    fs.closeSync(fd);
    await assertMlxError(() => loadModel(dir), 'corrupt_weights', 'model.safetensors', 'not valid JSON');
    fs.writeFileSync(file, Buffer.from('garbage that would crash mx.load'));
    await assertMlxError(() => loadModel(dir), 'corrupt_weights', 'model.safetensors');
  });

  it('a shard listed in the index is missing', async () => {
    const dir = model();
    writeJson(path.join(dir, 'model.safetensors.index.json'), {
      metadata: {},
      weight_map: { 'model.norm.weight': 'model-00002-of-00002.safetensors' },
    });
    await assertMlxError(() => loadModel(dir), 'corrupt_weights', 'model-00002-of-00002.safetensors', 'not in');
  });

  it('tokenizer.json missing', async () => {
    const dir = model();
    fs.rmSync(path.join(dir, 'tokenizer.json'));
    await assertMlxError(() => loadModel(dir), 'tokenizer_missing', 'tokenizer.json');
  });

  it('a dtype MLX models do not use', async () => {
    const dir = model();
    const file = path.join(dir, 'model.safetensors');
    mx.saveSafetensors(file, { ...load(file), 'model.norm.weight': mx.ones([256], mx.int32) });
    await assertMlxError(() => loadModel(dir), 'unsupported_model', 'model.norm.weight', 'I32');
  });

  it('quantized weights without "quantization" in config.json, or with the wrong bits', async () => {
    const dir = model(base4bit);
    const config = readJson(path.join(dir, 'config.json'));
    writeJson(path.join(dir, 'config.json'), { ...config, quantization: { group_size: 64, bits: 8 }, quantization_config: undefined });
    await assertMlxError(() => loadModel(dir), 'shape_mismatch', 'at 8 bits', 'group size 64');
    delete config.quantization;
    delete config.quantization_config;
    writeJson(path.join(dir, 'config.json'), config);
    await assertMlxError(() => loadModel(dir), 'invalid_config', 'no "quantization"');
    await assertMlxError(() => loadModel(dir, { keepQuantized: true }), 'invalid_config', 'no "quantization"');
  });
});
