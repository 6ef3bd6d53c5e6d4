// Decode passes (one part, at most COMPILED_PASS_TOKENS new tokens: decode rows and their drafts)
// run each layer as compiled graphs; longer passes and packed ones (a prompt chunk beside decode
// rows) run plain operations. All must give the same logits, for every architecture's variant of
// the layer, and a model given new weights must not keep computing with the weights its graphs
// were traced with.
import assert from 'node:assert/strict';
import { BatchKVCache } from '../../../src/server/cache/batch-kv-cache';
import { mx } from '../../../src/server/mlx';
import { compileAvailable } from '../../../src/server/model/compiled';
import { COMPILED_PASS_TOKENS } from '../../../src/server/model/llama';
import type { LanguageModel } from '../../../src/server/model/types';
import { logitRows, namedParameters, relativeError, tinyModel } from '../reference/harness';

const PROMPTS = [
  [5, 17, 3, 88, 42, 61, 0, 96, 23, 23, 7, 11, 64, 2, 9, 30],
  [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16],
  [90, 80, 70, 60, 50, 40, 30, 20, 10, 0, 5, 15, 25, 35, 45, 55],
];
const SPLIT = 12;

/** Logits of every row's last `PROMPTS[0].length - SPLIT` tokens: the rows' first SPLIT tokens in one long (plain) pass, the rest in one decode-sized pass of all rows. */
function twoPasses(model: LanguageModel): Float64Array[] {
  const cache = new BatchKVCache(model.args.numHiddenLayers, PROMPTS.map(() => 0));
  mx.eval(model.forward(mx.array(PROMPTS.map((p) => p.slice(0, SPLIT)), mx.int32), cache), ...cache.arrays());
  const logits = model.forward(mx.array(PROMPTS.map((p) => p.slice(SPLIT)), mx.int32), cache);
  return logitRows(logits).flat();
}

const LONG = Array.from({ length: 44 }, (_, i) => (i * 37 + 5) % 97);

/**
 * The rows' token 13 and the last 4 tokens of LONG in one packed pass of two parts (the rows'
 * cache, then LONG's own), as the engine runs decode rows with a prompt chunk beside them, after
 * the rows' compiled passes have been traced.
 */
function packedPass(model: LanguageModel): Float64Array[] {
  const layers = model.args.numHiddenLayers;
  const rows = new BatchKVCache(layers, PROMPTS.map(() => 0));
  mx.eval(model.forward(mx.array(PROMPTS.map((p) => p.slice(0, SPLIT)), mx.int32), rows), ...rows.arrays());
  const long = new BatchKVCache(layers);
  mx.eval(model.forward(mx.array([LONG.slice(0, 40)], mx.int32), long), ...long.arrays());
  const steps = model.forwardSteps([
    { inputs: mx.array(PROMPTS.map((p) => [p[SPLIT]]), mx.int32), cache: rows },
    { inputs: mx.array([LONG.slice(40)], mx.int32), cache: long },
  ]);
  let r = steps.next();
  while (!r.done) r = steps.next();
  return logitRows(r.value)[0];
}

/** The same positions from passes of plain operations over whole sequences. */
function packedReference(model: LanguageModel): Float64Array[] {
  const rows = PROMPTS.map((p) => logitRows(model.forward(mx.array([p.slice(0, SPLIT + 1)], mx.int32), new BatchKVCache(model.args.numHiddenLayers)))[0][SPLIT]);
  const long = logitRows(model.forward(mx.array([LONG], mx.int32), new BatchKVCache(model.args.numHiddenLayers)))[0].slice(40);
  return [...rows, ...long];
}

/** The same positions, each row alone in one long pass of plain operations. */
function onePass(model: LanguageModel): Float64Array[] {
  return PROMPTS.flatMap((p) => {
    const logits = model.forward(mx.array([p], mx.int32), new BatchKVCache(model.args.numHiddenLayers));
    return logitRows(logits)[0].slice(SPLIT);
  });
}

describe('compiled decode layers', () => {
  before(function () {
    // Without a compiler both sides below are plain operations and prove nothing.
    assert.ok(compileAvailable(), 'mx.compile runs here (MLX_BATCH_COMPILE unset, g++ on PATH)');
    assert.ok(PROMPTS.length * (PROMPTS[0].length - SPLIT) <= COMPILED_PASS_TOKENS && PROMPTS.length * SPLIT > COMPILED_PASS_TOKENS, 'one pass of each kind');
  });

  const archs: Record<string, Record<string, unknown>> = {
    llama: { model_type: 'llama', tie_word_embeddings: false, rms_norm_eps: 0.1, rope_theta: 50 },
    'qwen2 (q/k/v bias)': { model_type: 'qwen2', tie_word_embeddings: true, rms_norm_eps: 0.2, rope_theta: 100 },
    'qwen3 (q/k norm)': { model_type: 'qwen3', head_dim: 16, tie_word_embeddings: false, rms_norm_eps: 0.5, rope_theta: 200 },
  };
  for (const [name, config] of Object.entries(archs)) {
    it(`${name}: 3 rows of 4 tokens through compiled layers give the logits of plain operations`, () => {
      const model = tinyModel(config);
      const err = relativeError(twoPasses(model), onePass(model));
      assert.ok(err <= 1e-5, `relative error ${err}`);
    });

    it(`${name}: decode rows and a prompt chunk packed in one pass, beside compiled decode passes, give the logits of whole sequences`, () => {
      const model = tinyModel(config);
      twoPasses(model);
      const err = relativeError(packedPass(model), packedReference(model));
      assert.ok(err <= 1e-5, `relative error ${err}`);
    });
  }

  it('a model given new weights computes with them, not with those its graphs were traced with', () => {
    const config = archs.llama;
    const model = tinyModel(config, 7);
    const before = twoPasses(model);
    const other = tinyModel(config, 8);
    model.loadWeights(namedParameters(other));
    const after = twoPasses(model);
    assert.ok(relativeError(after, twoPasses(other)) <= 1e-6, 'the new weights\' logits');
    assert.ok(relativeError(after, before) > 1e-2, 'not the old ones');
  });
});
