import assert from 'node:assert/strict';
import path from 'node:path';
import { checkModelConfig, loadModel, readModelConfig } from '../../../src/server/loader';
import { mx, nn, optimizers, utils, type MxArray } from '../../../src/server/mlx';
import { createModel, parseModelArgs, type ModelConfig } from '../../../src/server/model';
import { growLayers, growthPlan } from '../../../src/training/grow';
import { TrainingCache } from '../../../src/training/training-cache';
import { flatValueAndGrad } from '../../../src/training/value-and-grad';

const DEFAULT_MODEL = path.join(process.cwd(), 'models', 'default');

function tinyConfig(layers: number): ModelConfig {
  return checkModelConfig({
    model_type: 'qwen2', hidden_size: 32, intermediate_size: 64, num_hidden_layers: layers, num_attention_heads: 2,
    num_key_value_heads: 2, vocab_size: 64, rms_norm_eps: 1e-6, rope_theta: 10000, tie_word_embeddings: true, max_position_embeddings: 64,
  });
}

describe('training helpers: depth growth and flat gradients', function () {
  this.timeout(120_000);

  it('plans growth as the original blocks in order, each followed by its zeroed copies', () => {
    assert.deepEqual(growthPlan(2, 4), [{ source: 0, copy: false }, { source: 0, copy: true }, { source: 1, copy: false }, { source: 1, copy: true }]);
    assert.deepEqual(growthPlan(2, 3).map((p) => p.source), [0, 0, 1]);
    assert.deepEqual(growthPlan(3, 3).map((p) => p.copy), [false, false, false]);
    assert.throws(() => growthPlan(4, 2), /cannot grow a model of 4 layers to 2/);
  });

  it('a grown copy of the shipped model computes the same logits as the shipped model', async () => {
    const { model } = await loadModel(DEFAULT_MODEL);
    const layers = model.args.numHiddenLayers;
    const weights = mx.load(path.join(DEFAULT_MODEL, 'model.safetensors')) as unknown as Record<string, MxArray>;
    const { config } = readModelConfig(DEFAULT_MODEL);
    const grown = createModel(parseModelArgs({ ...config, num_hidden_layers: layers + 3 }));
    grown.loadWeights(Object.entries(growLayers(weights, layers, layers + 3)), true);
    const x = mx.array([[40, 41, 42, 300, 301, 7, 9, 1000]], mx.int32);
    const a = model.forward(x, new TrainingCache(layers, 1));
    const b = grown.forward(x, new TrainingCache(layers + 3, 1));
    assert.equal(mx.max(mx.abs(mx.subtract(a, b))).item(), 0);
  });

  it('flat gradients equal the tree gradients, name by name', () => {
    const model = createModel(parseModelArgs(tinyConfig(2)));
    mx.eval(model.parameters());
    const x = mx.array([[1, 2, 3, 4, 5, 6]], mx.int32);
    const loss = (t: MxArray) => mx.mean(model.forward(t, new TrainingCache(2, 1)));
    const [lf, gf] = flatValueAndGrad(model, loss)(x);
    const [lt, gt] = nn.valueAndGrad(model, loss)(x) as [MxArray, Record<string, unknown>];
    assert.equal(lf.item(), lt.item());
    const tree = Object.fromEntries(utils.treeFlatten(gt as never) as [string, MxArray][]);
    const flat = utils.treeFlatten(gf as never) as [string, MxArray][];
    assert.equal(flat.length, Object.keys(tree).length);
    for (const [name, g] of flat) assert.ok(mx.arrayEqual(g, tree[name]).item(), name);
  });

  it('every gradient comes back under its own name, even for a tree of 1,500 parameters (node-mlx 0.0.7 misplaces them)', () => {
    // node-mlx 0.0.7 orders a dict's keys by handle address when it flattens and rebuilds trees,
    // so once the handles cross a block boundary a gradient lands on another parameter's name
    // (7 of 10 runs with nn.valueAndGrad here). Each weight's gradient below is its own index.
    class Many extends nn.Module {
      constructor(readonly count: number) {
        super();
        for (let i = 0; i < count; i++) (this as unknown as Record<string, MxArray>)[`w${i}`] = mx.array(0);
      }
      forward(): MxArray { return mx.array(0); }
    }
    for (let run = 0; run < 5; run++) {
      const m = new Many(1500);
      const get = (i: number) => (m as unknown as Record<string, MxArray>)[`w${i}`];
      const loss = () => {
        let s = mx.array(0);
        for (let i = 0; i < m.count; i++) s = mx.add(s, mx.multiply(get(i), mx.array(i)));
        return s;
      };
      const [, grads] = flatValueAndGrad(m, loss)();
      const values = grads as Record<string, MxArray>;
      const wrong = Array.from({ length: m.count }, (_, i) => i).filter((i) => values[`w${i}`].item() !== i);
      assert.deepEqual(wrong.slice(0, 5), [], `run ${run}: ${wrong.length} gradients under another name`);
    }
  });

  it('an 8-layer model takes optimizer steps in every fresh start: every parameter moves, stays finite, and the loss falls', () => {
    const tokens = mx.array([[1, 2, 3, 4, 5, 6, 7, 8, 9]], mx.int32);
    const x = tokens.index(mx.Slice(), mx.Slice(0, 8));
    const y = tokens.index(mx.Slice(), mx.Slice(1, 9));
    for (let i = 0; i < 20; i++) {
      mx.random.seed(i);
      const model = createModel(parseModelArgs(tinyConfig(8)));
      mx.eval(model.parameters());
      const lossOf = () => nn.losses.crossEntropy(model.forward(x, new TrainingCache(8, 1)), y, undefined, -1, 0, 'mean');
      const before = utils.treeFlatten(model.parameters() as never) as [string, MxArray][];
      const lossBefore = lossOf().item() as number;
      // No weight decay: a parameter moves only by its gradient. These 20 starts lose 0.9 to 1.5 nats.
      const opt = new optimizers.AdamW(1e-3, [0.9, 0.999], 1e-8, 0);
      const [loss, grads] = flatValueAndGrad(model, lossOf)();
      assert.equal(loss.item(), lossBefore);
      opt.update(model, grads as never);
      mx.eval(model.parameters(), opt.state);
      const after = Object.fromEntries(utils.treeFlatten(model.parameters() as never) as [string, MxArray][]);
      assert.equal(Object.keys(after).length, before.length);
      assert.ok(before.length > 8 * 9, `${before.length} parameters`);
      const unchanged = before.filter(([name, w]) => mx.arrayEqual(w, after[name]).item()).map(([name]) => name);
      assert.deepEqual(unchanged, [], `start ${i}: parameters the step left as they were`);
      const notFinite = before.filter(([name]) => mx.any(mx.logicalOr(mx.isnan(after[name]), mx.isinf(after[name]))).item()).map(([name]) => name);
      assert.deepEqual(notFinite, [], `start ${i}: parameters no longer finite`);
      const lossAfter = lossOf().item() as number;
      assert.ok(Number.isFinite(lossAfter) && lossAfter < lossBefore - 0.1, `start ${i}: loss ${lossBefore.toFixed(4)} -> ${lossAfter.toFixed(4)}`);
    }
  });
});
