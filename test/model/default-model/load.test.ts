import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Runner } from '../../../src/batching/runner';
import { BatchKVCache } from '../../../src/server/cache/batch-kv-cache';
import { MlxEngine } from '../../../src/server/engine/mlx-engine';
import { loadModel, type LoadedModel } from '../../../src/server/loader';
import { mx } from '../../../src/server/mlx';
import { detectFim } from '../../../src/server/fim';
import { loadTokenizer, type Tokenizer } from '../../../src/server/tokenizer/tokenizer';
import { collectCorpus } from '../../../src/training/corpus';

const MODEL_DIR = process.env.MLX_BATCH_DEFAULT_MODEL_DIR ?? path.join(process.cwd(), 'models', 'default');

function greedy(loaded: LoadedModel, prompt: number[], n: number): number[] {
  const cache = new BatchKVCache(loaded.args.numHiddenLayers);
  let input = mx.array(prompt, mx.int32).reshape([1, prompt.length]);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const next = mx.argmax(loaded.model.forward(input, cache, { lastOnly: true }), -1).astype(mx.int32);
    mx.eval(next, ...cache.arrays());
    out.push((next.reshape([-1]).tolist() as number[])[0]);
    input = next.reshape([1, 1]);
  }
  return out;
}

describe('the shipped default model (models/default)', function () {
  this.timeout(120_000);
  let loaded: LoadedModel;
  let tokenizer: Tokenizer;
  before(async () => {
    loaded = await loadModel(MODEL_DIR);
    tokenizer = await loadTokenizer(loaded.dir);
  });

  it('is a few-million-parameter qwen2 model in the mlx-community layout, at most 20 MB', () => {
    assert.equal(loaded.modelType, 'qwen2');
    const files = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json'];
    let bytes = 0;
    for (const f of files) bytes += fs.statSync(path.join(MODEL_DIR, f)).size;
    assert.ok(bytes <= 20 * 1024 * 1024, `${bytes} bytes`);
    const params = loaded.weightBytes / 4;
    assert.ok(params > 1e6 && params < 20e6, `${params} parameters`);
  });

  it('has FIM, end-of-text and chat tokens and a ChatML chat template', () => {
    for (const t of ['<|fim_prefix|>', '<|fim_suffix|>', '<|fim_middle|>', '<|endoftext|>', '<|im_start|>', '<|im_end|>']) {
      assert.notEqual(tokenizer.tokenToId(t), undefined, t);
    }
    assert.ok(tokenizer.endOfGenerationIds.has(tokenizer.tokenToId('<|endoftext|>')!));
    assert.match(tokenizer.chatTemplate ?? '', /<\|im_start\|>/);
  });

  it('names the FIM layout it was trained on, so the server builds its prompts in that order', () => {
    const trained = JSON.parse(fs.readFileSync(path.join(MODEL_DIR, 'training_args.json'), 'utf8')) as { mix: { fimLayout?: string } };
    assert.equal(detectFim(tokenizer)?.layout, trained.mix.fimLayout ?? 'psm');
    assert.equal(detectFim(tokenizer)?.layout, 'spm');
  });

  it('round-trips corpus files exactly (held-out split, a sample of the training split, CJK and emoji)', () => {
    const corpus = collectCorpus({ root: path.join(process.cwd(), 'node_modules'), maxBytes: 24_000_000, heldOutShare: 0.04 });
    const files = [...corpus.heldOut, ...corpus.train.filter((_, i) => i % 80 === 0)].map((f) => f.text);
    files.push(fs.readFileSync(path.join(process.cwd(), 'test', 'fixtures', 'corpus', 'cjk-emoji.txt'), 'utf8'));
    assert.ok(files.length > 60);
    for (const text of files) {
      const ids = tokenizer.encode(text, { addSpecialTokens: false });
      assert.equal(tokenizer.decode(ids), text);
    }
  });

  // Golden greedy continuations of models/default, recorded from this code on 2026-12-02.
  // Regenerate them only when the shipped model changes (new weights or tokenizer), never to make
  // a code change pass: a change in the forward pass, the cache or argmax shows up here.
  // The smallest top-1/top-2 logit margin along these 80 steps is 0.021 (first prompt).
  const GOLDEN: [string, number[]][] = [
    ['export interface Options {\n', [258, 369, 257, 265, 385, 2162, 454, 358, 2301, 330, 411, 303, 257, 328, 258, 1022]],
    ['function add(a, b) {\n  return ', [48, 267, 525, 440, 353, 733, 45, 733, 10, 440, 353, 733, 45, 733, 10, 440]],
    ["import fs from 'node:fs';\n\n", [1938, 1315, 1538, 295, 32, 804, 1315, 1538, 295, 258, 804, 623, 1538, 295, 357, 369]],
    ['def main():\n    ', [265, 353, 455, 281, 370, 125, 414, 802, 46, 364, 687, 1116, 737, 115, 711, 581]],
    ['<|im_start|>user\nWrite a loop in JavaScript.<|im_end|>\n<|im_start|>assistant\n', [96, 96, 96, 4091, 10, 4089, 4092, 4094, 258, 369, 257, 265, 385, 409, 358, 296]],
  ];

  it('generates its golden tokens greedily for fixed prompts', () => {
    for (const [text, want] of GOLDEN) {
      const prompt = tokenizer.encode(text, { addSpecialTokens: false });
      assert.deepEqual(greedy(loaded, prompt, 16), want, JSON.stringify(text));
    }
  });

  it('generates the same golden tokens through the batch engine, all prompts in one batch', async () => {
    const engine = new MlxEngine(loaded.model, { prefixCacheTokens: 0 });
    const runner = new Runner(engine, { maxBatch: 8 });
    const results = await Promise.all(GOLDEN.map(([text]) => runner.submit({
      promptTokens: tokenizer.encode(text, { addSpecialTokens: false }),
      maxTokens: 16,
      ignoreEos: true,
      sampling: { temperature: 0, topP: 1, topK: 0 },
    }).collect()));
    assert.deepEqual(results.map((r) => r.tokens), GOLDEN.map(([, want]) => want));
  });
});
