import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mx, type MxArray } from '../../../src/server/mlx';
import { loadModel } from '../../../src/server/loader';
import { exportCheckpoint } from '../../../src/training/checkpoint';
import { learningRate, train } from '../../../src/training/train';
import { DEFAULT_TRAIN_OPTIONS, type TrainOptions } from '../../../src/training/train-options';

// A throwaway node_modules with one MIT package of real TypeScript declarations.
function tinyCorpus(root: string): string {
  const pkg = path.join(root, 'node_modules', 'tiny-lib');
  fs.mkdirSync(pkg, { recursive: true });
  fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'tiny-lib', version: '1.0.0', license: 'MIT' }));
  const lib = path.join(process.cwd(), 'node_modules', 'typescript', 'lib');
  const files = ['lib.es2015.collection.d.ts', 'lib.es2015.symbol.d.ts', 'lib.es2016.array.include.d.ts', 'lib.es2017.string.d.ts', 'lib.es2019.array.d.ts', 'lib.es2018.promise.d.ts', 'lib.es2015.proxy.d.ts', 'lib.es2015.reflect.d.ts'];
  // Named by their last part (collection.d.ts, ...): files that share a stem share a split.
  for (const f of files) fs.copyFileSync(path.join(lib, f), path.join(pkg, f.split('.').slice(-3).join('.')));
  return path.join(root, 'node_modules');
}

function options(out: string, corpusRoot: string, extra: Partial<TrainOptions> = {}): TrainOptions {
  return {
    ...DEFAULT_TRAIN_OPTIONS,
    out, corpusRoot, corpusBytes: 1_000_000, heldOutShare: 0.3, vocabSize: 320,
    shape: { hiddenSize: 16, layers: 1, heads: 2, kvHeads: 2, intermediateSize: 32, maxPositions: 64 },
    seqLen: 24, batch: 2, steps: 4, warmup: 1, evalEvery: 2, evalWindows: 2, checkpointEvery: 2,
    log: () => undefined, ...extra,
  };
}

function weights(dir: string): Record<string, MxArray> {
  return mx.load(path.join(dir, 'model.safetensors')) as unknown as Record<string, MxArray>;
}

describe('default model training pipeline', function () {
  this.timeout(300_000);
  let tmp: string;
  before(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mlx-batch-train-')); });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('warms the learning rate up linearly, then decays it by cosine to minLr', () => {
    const o = { steps: 100, warmup: 10, lr: 1e-3, minLr: 1e-4 };
    assert.equal(learningRate(0, o), 1e-4);
    assert.equal(learningRate(9, o), 1e-3);
    assert.ok(Math.abs(learningRate(55, o) - 5.5e-4) < 1e-9);
    assert.ok(Math.abs(learningRate(100, o) - 1e-4) < 1e-12);
  });

  it('logs held-out loss and accuracy, writes a loadable model, and resuming equals an uninterrupted run', async () => {
    const corpus = tinyCorpus(tmp);
    const lines: string[] = [];
    const straight = path.join(tmp, 'straight');
    await train(options(straight, corpus, { log: (l) => lines.push(l) }));
    assert.ok(lines.some((l) => /step 2: .*held-out loss \d+\.\d+ .*next-token accuracy \d+\.\d%/.test(l)), lines.join('\n'));
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json']) {
      assert.ok(fs.existsSync(path.join(straight, f)), f);
    }
    const loaded = await loadModel(straight);
    assert.equal(loaded.modelType, 'qwen2');

    const resumed = path.join(tmp, 'resumed');
    await train(options(resumed, corpus, { stopAfter: 2 }));
    assert.equal(JSON.parse(fs.readFileSync(path.join(resumed, 'checkpoint', 'state.json'), 'utf8')).step, 2);
    assert.ok(fs.existsSync(path.join(resumed, 'model.safetensors')), 'the model so far is written at --stop-after');
    const exported = path.join(tmp, 'exported');
    exportCheckpoint(resumed, exported);
    for (const [k, w] of Object.entries(weights(resumed))) assert.ok(mx.arrayEqual(w, weights(exported)[k]).item(), `${k}: export of step 2`);
    assert.equal(JSON.parse(fs.readFileSync(path.join(exported, 'tokenizer_config.json'), 'utf8')).fim_layout, 'spm');
    assert.equal((await loadModel(exported)).modelType, 'qwen2');
    await train(options(resumed, corpus, { resume: true }));
    const a = weights(straight);
    const b = weights(resumed);
    assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort());
    for (const k of Object.keys(a)) {
      assert.ok(mx.arrayEqual(a[k], b[k]).item(), `${k} differs after resume`);
    }
  });
  it('a later phase may start from a folder with fewer layers (grown), but not from one of another width', async () => {
    const corpus = tinyCorpus(tmp);
    const small = path.join(tmp, 'grow-small');
    await train(options(small, corpus, { steps: 2 }));
    const lines: string[] = [];
    const grown = path.join(tmp, 'grow-big');
    const shape = { ...options(small, corpus).shape, layers: 3 };
    await train(options(grown, corpus, { steps: 2, initFrom: small, shape, log: (l) => lines.push(l) }));
    assert.ok(lines.some((l) => l.includes('(grown from 1 to 3 layers: each new block is a copy with zeroed output projections)')), lines.join('\n'));
    assert.equal((await loadModel(grown)).model.args.numHiddenLayers, 3);
    await assert.rejects(train(options(path.join(tmp, 'grow-wide'), corpus, { steps: 2, initFrom: small, shape: { ...shape, hiddenSize: 32 } })),
      /--init-from .* has a different shape: hidden_size 16 there, 32 here/);
    await assert.rejects(train(options(path.join(tmp, 'grow-shrink'), corpus, { steps: 2, initFrom: grown })),
      /has 3 layers; --layers 1 cannot drop any/);
  });
});
