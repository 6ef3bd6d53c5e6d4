// Quantization settings the MLX in node-mlx does not run are refused by name, from config.json
// alone (bits 3 and 6, group size 16), and a layer too narrow to keep packed at its width is
// refused with the way out, instead of MLX's shape or quantize messages.
import assert from 'node:assert/strict';
import path from 'node:path';
import { MLX_QUANTIZATION } from '../../../src/server/loader/config';
import { loadModel } from '../../../src/server/loader/load-model';
import { quantizeModule } from '../../../src/server/loader/quantized';
import { mx, nn, type MxArray } from '../../../src/server/mlx';
import { llama70bConfig, writeHeaderOnlyModel } from '../helpers/header-only-model';
import { assertMlxError, removeTempDirs, tempDir } from '../helpers/loader-fixtures';

const SUPPORTED = 'the MLX in node-mlx runs bits 2, 4, 8 with group_size 32, 64, 128: use a 4- or 8-bit conversion of the model';

function quantizedFolder(quantization: Record<string, unknown>): string {
  const dir = tempDir('quant-settings');
  // Header only (141 GB declared, sparse): a load that got past the config would not get far.
  writeHeaderOnlyModel(dir, { ...llama70bConfig(), quantization }, { dtype: 'BF16' });
  return dir;
}

describe('quantization settings MLX runs', () => {
  after(removeTempDirs);

  it('refuses bits 3 and 6 and group size 16 from config.json, naming the model settings and the supported ones', async () => {
    assert.deepEqual([MLX_QUANTIZATION.bits, MLX_QUANTIZATION.groupSizes], [[2, 4, 8], [32, 64, 128]]);
    for (const [bits, groupSize] of [[3, 64], [6, 64], [4, 16]]) {
      const dir = quantizedFolder({ group_size: groupSize, bits });
      const read: string[] = [];
      const e = await assertMlxError(() => loadModel(dir, { device: 'cpu', onProgress: (p) => read.push(p.file) }), 'unsupported_model',
        `config.json: the model is quantized with bits ${bits}, group_size ${groupSize} (quantization); ${SUPPORTED}`);
      assert.equal(e.param, path.join(dir, 'config.json'));
      assert.deepEqual(read, [], 'refused before any weight file is read (the loader reports each one it has read)');
    }
  });

  it('refuses a per-layer entry the same way, naming the layer', async () => {
    const dir = quantizedFolder({ group_size: 64, bits: 4, 'model.layers.0.mlp.down_proj': { group_size: 64, bits: 6 } });
    await assertMlxError(() => loadModel(dir, { device: 'gpu' }), 'unsupported_model', 'bits 6, group_size 64 (quantization["model.layers.0.mlp.down_proj"])', SUPPORTED);
  });

  it('kept packed (the gpu path), a layer narrower than MLX quantizes at its width is refused with the way out', () => {
    class Tiny extends nn.Module {
      proj = new nn.Linear(192, 8, false);
      forward(x: MxArray): MxArray {
        return this.proj.forward(x);
      }
    }
    const packed = (features: number, bits: number, groupSize: number) => new Map<string, MxArray>([
      ['proj.weight', mx.zeros([8, (features * bits) / 32], mx.uint32)],
      ['proj.scales', mx.ones([8, features / groupSize])],
      ['proj.biases', mx.zeros([8, features / groupSize])],
    ]);
    assert.throws(() => quantizeModule(new Tiny(), packed(192, 4, 64), { groupSize: 64, bits: 4, layers: new Map() }), (e: Error & { type?: string }) =>
      e.type === 'unsupported_model' && e.message === 'quantized layer proj has 192 input features at 4 bits; MLX keeps a 4-bit layer packed only from 256 features: ' +
        'load the model with --device cpu (it is dequantized at load) or use a wider quantization');
    // 8 bits from 128 features: the same layer is kept.
    const model = new Tiny();
    quantizeModule(model, packed(192, 8, 64), { groupSize: 64, bits: 8, layers: new Map() });
    assert.ok(model.proj instanceof nn.QuantizedLinear);
  });
});
