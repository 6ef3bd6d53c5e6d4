// MLX forward pass of each architecture against the float64 reference, on the same model folder:
// whole prompt at once, token by token through the cache, and chunked prefill then decode. MLX
// loads the folder through the project's loader; the reference reads config.json and the
// safetensors file with the test's own code, so neither the config parser nor the weight loader
// is shared by the two sides.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { BatchKVCache } from '../../../src/server/cache/batch-kv-cache';
import { loadModel } from '../../../src/server/loader';
import { mx } from '../../../src/server/mlx';
import type { LanguageModel } from '../../../src/server/model/types';
import { logitRows, relativeError, TINY as HARNESS_TINY, tokens } from '../reference/harness';
import { readReferenceArgs, readSafetensors, writeModelFolder } from '../reference/model-folder';
import { referenceLogits } from '../reference/transformer';

const TOLERANCE = 1e-4;
const PROMPT = [5, 17, 3, 88, 42, 61, 0, 96, 23, 23, 7];

// The harness's tiny shape; every case below names its own rms_norm_eps.
const { rms_norm_eps: _eps, ...TINY_SHAPE } = HARNESS_TINY;
const TINY = { ...TINY_SHAPE, max_position_embeddings: 64 };

// Every case names rms_norm_eps and rope_theta, at values far from every architecture's default
// (an eps near the hidden states' mean square, a small theta), so a misread field moves the logits.
const CASES: Record<string, Record<string, unknown>> = {
  'llama, untied': { model_type: 'llama', tie_word_embeddings: false, rms_norm_eps: 0.3, rope_theta: 50 },
  'llama, tied': { model_type: 'llama', tie_word_embeddings: true, rms_norm_eps: 0.05, rope_theta: 500000 },
  // head_dim 8 and theta 10000 give wavelengths 6.3, 63, 628, 6283: one per llama3 band.
  'llama, llama3 rope scaling': {
    model_type: 'llama',
    tie_word_embeddings: false,
    rms_norm_eps: 0.1,
    rope_theta: 10000,
    rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 },
  },
  'llama, linear rope scaling': { model_type: 'llama', tie_word_embeddings: false, rms_norm_eps: 0.2, rope_theta: 300, rope_scaling: { type: 'linear', factor: 2.5 } },
  'llama, no num_key_value_heads (multi-head)': { model_type: 'llama', tie_word_embeddings: true, rms_norm_eps: 0.1, rope_theta: 80, num_key_value_heads: undefined },
  'qwen2 (q/k/v bias, tied)': { model_type: 'qwen2', tie_word_embeddings: true, rms_norm_eps: 0.2, rope_theta: 100 },
  'qwen3 (q/k norm, head_dim 16, untied)': { model_type: 'qwen3', head_dim: 16, tie_word_embeddings: false, rms_norm_eps: 0.5, rope_theta: 200 },
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
      let dir: string;
      before(async function () {
        dir = writeModelFolder(JSON.parse(JSON.stringify({ ...TINY, ...config })), 7);
        // MLX: the project's loader reads the folder. The reference: config.json and the weights
        // read by the test's own code (reference/model-folder.ts).
        model = (await loadModel(dir)).model;
        const raw = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
        expected = referenceLogits(readReferenceArgs(raw), readSafetensors(path.join(dir, 'model.safetensors')), PROMPT);
      });
      after(() => fs.rmSync(dir, { recursive: true, force: true }));

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
