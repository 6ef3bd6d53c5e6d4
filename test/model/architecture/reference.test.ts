// MLX forward pass of each architecture against the float64 reference, fed the same weights:
// whole prompt at once, token by token through the cache, and chunked prefill then decode.
import assert from 'node:assert/strict';
import { BatchKVCache } from '../../../src/server/cache/batch-kv-cache';
import { mx } from '../../../src/server/mlx';
import type { LanguageModel } from '../../../src/server/model/types';
import { logitRows, referenceWeights, relativeError, tinyModel, tokens } from '../reference/harness';
import { referenceLogits } from '../reference/transformer';

const TOLERANCE = 1e-4;
const PROMPT = [5, 17, 3, 88, 42, 61, 0, 96, 23, 23, 7];

const CASES: Record<string, Record<string, unknown>> = {
  'llama, untied': { model_type: 'llama', tie_word_embeddings: false },
  'llama, tied': { model_type: 'llama', tie_word_embeddings: true, rope_theta: 500000 },
  // head_dim 8 and theta 10000 give wavelengths 6.3, 63, 628, 6283: one per llama3 band.
  'llama, llama3 rope scaling': {
    model_type: 'llama',
    tie_word_embeddings: false,
    rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 },
  },
  'llama, linear rope scaling': { model_type: 'llama', rope_scaling: { type: 'linear', factor: 2.5 } },
  'qwen2 (q/k/v bias, tied)': { model_type: 'qwen2', tie_word_embeddings: true },
  'qwen3 (q/k norm, head_dim 16, untied)': { model_type: 'qwen3', head_dim: 16, tie_word_embeddings: false },
};

/** Runs `ids` through one B = 1 cache in pieces of the given sizes; logits of every position. */
function runInPieces(model: LanguageModel, ids: readonly number[], pieces: readonly number[]): Float64Array[] {
  const cache = new BatchKVCache(model.args.numHiddenLayers);
  const out: Float64Array[] = [];
  let at = 0;
  for (const n of pieces) {
    const logits = model.forward(tokens(ids.slice(at, at + n)), cache);
    mx.eval(logits, ...cache.arrays());
    out.push(...logitRows(logits)[0]);
    at += n;
  }
  assert.equal(at, ids.length);
  assert.equal(cache.columns, ids.length);
  return out;
}

describe('model forward pass against the float64 reference', function () {
  for (const [name, config] of Object.entries(CASES)) {
    describe(name, function () {
      let model: LanguageModel;
      let expected: Float64Array[];
      before(function () {
        model = tinyModel(config);
        expected = referenceLogits(model.args, referenceWeights(model), PROMPT);
      });

      it('whole prompt in one pass', function () {
        const got = runInPieces(model, PROMPT, [PROMPT.length]);
        assert.ok(relativeError(got, expected) < TOLERANCE, `relative error ${relativeError(got, expected)}`);
      });

      it('token by token through the cache', function () {
        const got = runInPieces(model, PROMPT, PROMPT.map(() => 1));
        assert.ok(relativeError(got, expected) < TOLERANCE, `relative error ${relativeError(got, expected)}`);
      });

      it('chunked prefill (chunks of 3) then decode', function () {
        const got = runInPieces(model, PROMPT, [3, 3, 2, 1, 1, 1]);
        assert.ok(relativeError(got, expected) < TOLERANCE, `relative error ${relativeError(got, expected)}`);
      });

      it('lastOnly gives the last position only', function () {
        const logits = model.forward(tokens(PROMPT), new BatchKVCache(model.args.numHiddenLayers), { lastOnly: true });
        assert.deepEqual(logits.shape, [1, 1, model.args.vocabSize]);
        const got = logitRows(logits)[0];
        assert.ok(relativeError(got, expected.slice(-1)) < TOLERANCE);
      });
    });
  }
});
