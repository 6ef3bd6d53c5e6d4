// The batch KV cache: rows of different lengths prefilled together (left-padded), decoded
// together, merged in, removed and compacted must each give the logits of the row run alone.
import assert from 'node:assert/strict';
import { BatchKVCache } from '../../../src/server/cache/batch-kv-cache';
import { mx, type MxArray } from '../../../src/server/mlx';
import type { LanguageModel } from '../../../src/server/model/types';
import { logitRows, relativeError, tinyModel, tokens } from '../reference/harness';

const TOLERANCE = 1e-4;
const PAD = 0;

/** Deterministic token sequences. */
function sequence(seed: number, n: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => (s = (s * 1103515245 + 12345) % 2147483648) % 97);
}

/** A request: its tokens, how many are computed, and its logits when run alone. */
class Row {
  fed = 0;
  got: Float64Array[] = [];
  constructor(
    readonly seq: number[],
    readonly alone: Float64Array[],
  ) {}
  static make(model: LanguageModel, seed: number, n: number): Row {
    const seq = sequence(seed, n);
    const logits = model.forward(tokens(seq), new BatchKVCache(model.args.numHiddenLayers));
    return new Row(seq, logitRows(logits)[0]);
  }
  check(): void {
    const err = relativeError(this.got, this.alone.slice(0, this.fed));
    assert.ok(err < TOLERANCE, `relative error ${err} over ${this.fed} positions`);
  }
}

/** Prefills `rows[i]`'s next `counts[i]` tokens in one pass of width max(counts), left-padded. */
function prefill(model: LanguageModel, cache: BatchKVCache, rows: Row[], counts: number[]): void {
  const width = Math.max(...counts);
  const input = rows.map((r, i) => [
    ...new Array<number>(width - counts[i]).fill(PAD),
    ...r.seq.slice(r.fed, r.fed + counts[i]),
  ]);
  const logits = model.forward(mx.array(input, mx.int32), cache);
  mx.eval(logits, ...cache.arrays());
  const out = logitRows(logits);
  rows.forEach((r, i) => {
    r.got.push(...out[i].slice(width - counts[i]));
    r.fed += counts[i];
  });
}

/** One decode step: every row feeds its next token. */
function decode(model: LanguageModel, cache: BatchKVCache, rows: Row[]): void {
  prefill(model, cache, rows, rows.map(() => 1));
}

const MODELS: Record<string, Record<string, unknown>> = {
  'llama, grouped-query attention (4 heads, 2 kv heads)': { model_type: 'llama', tie_word_embeddings: false },
  'qwen3, 4 heads = 4 kv heads': { model_type: 'qwen3', num_key_value_heads: 4, tie_word_embeddings: true },
  'qwen2, biases on q/k/v': { model_type: 'qwen2', tie_word_embeddings: true },
};

for (const [name, config] of Object.entries(MODELS)) {
  describe(`batch KV cache: ${name}`, function () {
    let model: LanguageModel;
    let layers: number;
    before(function () {
      model = tinyModel(config, 11);
      layers = model.args.numHiddenLayers;
    });

    it('rows of different lengths prefilled together, then decoded together, equal each row alone', function () {
      const rows = [Row.make(model, 1, 9), Row.make(model, 2, 5), Row.make(model, 3, 11)];
      const prompts = [5, 2, 7];
      const cache = BatchKVCache.forPrompts(layers, prompts);
      prefill(model, cache, rows, prompts);
      assert.deepEqual(cache.lengths, prompts);
      for (let s = 0; s < 3; s++) decode(model, cache, rows);
      rows.forEach((r) => r.check());
      assert.equal(cache.tokens, 5 + 2 + 7 + 9);
      assert.equal(cache.columns, 7 + 3);
    });

    it('a left-padded batch prefilled in chunks of 3 (one row all padding in a chunk), then decoded', function () {
      const rows = [Row.make(model, 4, 9), Row.make(model, 5, 5), Row.make(model, 6, 10)];
      const prompts = [6, 2, 8];
      const cache = BatchKVCache.forPrompts(layers, prompts);
      // Chunks of 3, 3, 2 over the padded width 8: rows get [1,0,3], [3,0,3], [2,2,2] valid tokens.
      for (const counts of [[1, 0, 3], [3, 0, 3], [2, 2, 2]]) prefill(model, cache, rows, counts);
      assert.deepEqual(cache.lengths, prompts);
      for (let s = 0; s < 2; s++) decode(model, cache, rows);
      rows.forEach((r) => r.check());
    });

    it('discard hides a row\'s rejected draft tokens: rows go on as if they never had them, extracted and squeezed alike', function () {
      const a = Row.make(model, 16, 16);
      const b = Row.make(model, 17, 16);
      const batch = BatchKVCache.forPrompts(layers, [5, 3]);
      prefill(model, batch, [a, b], [5, 3]);
      // One step of width `width`: row r feeds `good[r]` true tokens, then wrong ones (a rejected draft).
      const draftStep = (width: number, good: number[]) => {
        const input = [a, b].map((r, i) => Array.from({ length: width }, (_, j) => (j < good[i] ? r.seq[r.fed + j] : (r.seq[r.fed + j] + 7) % 97)));
        const logits = model.forward(mx.array(input, mx.int32), batch);
        mx.eval(logits, ...batch.arrays());
        const out = logitRows(logits);
        [a, b].forEach((r, i) => {
          r.got.push(...out[i].slice(0, good[i]));
          r.fed += good[i];
          batch.discard(i, width - good[i]);
        });
      };
      draftStep(3, [1, 2]);
      assert.deepEqual(batch.lengths, [6, 5]);
      assert.equal(batch.deadColumns, 3);
      decode(model, batch, [a, b]);
      draftStep(4, [2, 1]);
      decode(model, batch, [a, b]);
      [a, b].forEach((r) => r.check());

      // The prefix store's copy of a row skips its dead columns.
      const copy = batch.extract(1);
      assert.equal(copy.deadColumns, 0);
      const alone = new Row(b.seq, b.alone);
      alone.fed = b.fed;
      alone.got = [...b.got];
      decode(model, copy, [alone]);
      alone.check();

      // Enough dead columns: the buffers are rebuilt without them, and decoding goes on the same.
      draftStep(6, [1, 1]);
      assert.ok(batch.squeezeIfSparse(), `${batch.deadColumns} dead columns`);
      assert.equal(batch.deadColumns, 0);
      assert.equal(batch.columns, Math.max(...batch.lengths));
      decode(model, batch, [a, b]);
      [a, b].forEach((r) => r.check());
      assert.throws(() => batch.discard(0, 100), /cannot discard/);
    });

    it('insert, remove and compact keep every remaining row equal to running alone', function () {
      const a = Row.make(model, 7, 14);
      const b = Row.make(model, 8, 10);
      const c = Row.make(model, 9, 14);
      const batch = BatchKVCache.forPrompts(layers, [6, 3]);
      prefill(model, batch, [a, b], [6, 3]);
      decode(model, batch, [a, b]);
      decode(model, batch, [a, b]);

      // A request prefilled on its own joins the running batch (its prompt is longer than theirs).
      const fresh = new BatchKVCache(layers);
      prefill(model, fresh, [c], [9]);
      assert.deepEqual(batch.insert(fresh), [2]);
      assert.deepEqual(batch.lengths, [8, 5, 9]);
      assert.equal(batch.columns, 9);
      let rows = [a, b, c];
      decode(model, batch, rows);
      decode(model, batch, rows);

      // The longest row leaves: the leading column that only it used is dropped.
      batch.remove([2]);
      rows = [a, b];
      assert.deepEqual(batch.lengths, [10, 7]);
      assert.equal(batch.columns, 10);
      decode(model, batch, rows);
      batch.remove([0]);
      rows = [b];
      assert.equal(batch.columns, 8);
      decode(model, batch, rows);
      decode(model, batch, rows);
      assert.equal(batch.tokens, 10);
      [a, b, c].forEach((r) => r.check());
    });

    it('one packed pass over several caches (a decoding batch, a fresh prompt, a prompt mid-way) gives each part its logits alone', function () {
      const [a, b, c, d] = [Row.make(model, 12, 7), Row.make(model, 13, 5), Row.make(model, 14, 9), Row.make(model, 15, 12)];
      const batch = BatchKVCache.forPrompts(layers, [5, 3]);
      prefill(model, batch, [a, b], [5, 3]);
      const fresh = new BatchKVCache(layers);
      const midway = new BatchKVCache(layers);
      prefill(model, midway, [d], [3]);
      const run = (lastOnly: boolean) => {
        const parts = [
          { inputs: mx.array([[a.seq[a.fed]], [b.seq[b.fed]]], mx.int32), cache: batch },
          { inputs: tokens(c.seq.slice(c.fed, c.fed + 4)), cache: fresh },
          { inputs: tokens(d.seq.slice(d.fed, d.fed + 4)), cache: midway },
        ];
        const steps = model.forwardSteps(parts, { lastOnly });
        let r = steps.next();
        while (!r.done) r = steps.next();
        mx.eval(r.value, ...batch.arrays(), ...fresh.arrays(), ...midway.arrays());
        return r.value;
      };
      const packed = run(false);
      assert.deepEqual(packed.shape, [1, 2 + 4 + 4, model.args.vocabSize]);
      const out = logitRows(packed)[0];
      a.got.push(out[0]);
      b.got.push(out[1]);
      c.got.push(...out.slice(2, 6));
      d.got.push(...out.slice(6, 10));
      for (const [r, n] of [[a, 1], [b, 1], [c, 4], [d, 4]] as const) r.fed += n;
      [a, b, c, d].forEach((r) => r.check());
      // The next pass, last tokens only: one row of logits per row of every part.
      const last = logitRows(run(true));
      assert.equal(last.length, 4);
      const want = [a.alone[a.fed], b.alone[b.fed], c.alone[c.fed + 3], d.alone[d.fed + 3]];
      last.forEach((rows, i) => assert.ok(relativeError([rows[0]], [want[i]]) < TOLERANCE, `row ${i} of the last-token logits`));
    });

    it('a row whose prompt is shorter joins a batch of longer rows', function () {
      const a = Row.make(model, 10, 12);
      const b = Row.make(model, 11, 6);
      const batch = new BatchKVCache(layers);
      prefill(model, batch, [a], [8]);
      const fresh = new BatchKVCache(layers);
      prefill(model, fresh, [b], [2]);
      batch.insert(fresh);
      assert.equal(batch.columns, 8);
      for (let s = 0; s < 4; s++) decode(model, batch, [a, b]);
      a.check();
      b.check();
    });

    it('extract: the first N tokens of a row as a new B = 1 cache continue like the row alone', function () {
      const a = Row.make(model, 12, 12);
      const b = Row.make(model, 13, 9);
      const batch = BatchKVCache.forPrompts(layers, [7, 4]);
      prefill(model, batch, [a, b], [7, 4]);
      decode(model, batch, [a, b]);

      const prefix = batch.extract(1, 3);
      assert.deepEqual([prefix.batchSize, prefix.columns, prefix.tokens], [1, 3, 3]);
      const reuse = new Row(b.seq, b.alone);
      reuse.fed = 3;
      reuse.got = b.alone.slice(0, 3);
      prefill(model, prefix, [reuse], [4]);
      decode(model, prefix, [reuse]);
      reuse.check();
      // The source batch is untouched by the extraction.
      decode(model, batch, [a, b]);
      a.check();
      b.check();
    });

    it('grows past its capacity and shrinks it on compact', function () {
      const a = Row.make(model, 14, 70);
      const b = Row.make(model, 15, 9);
      const batch = BatchKVCache.forPrompts(layers, [62, 5]);
      prefill(model, batch, [a, b], [62, 5]);
      assert.equal(batch.capacity, 64);
      for (let s = 0; s < 3; s++) decode(model, batch, [a, b]);
      assert.equal(batch.capacity, 128);
      batch.remove([0]);
      assert.deepEqual([batch.columns, batch.capacity], [8, 64]);
      const c = Row.make(model, 16, 8);
      const fresh = new BatchKVCache(layers);
      prefill(model, fresh, [c], [7]);
      batch.insert(fresh);
      decode(model, batch, [b, c]);
      [a, b, c].forEach((r) => r.check());
    });

    it('masks hide padding and the spare capacity; positions count valid tokens only', function () {
      const visible = (m: MxArray | undefined) =>
        (mx.greaterEqual(m!, 0).astype(mx.int32).tolist() as number[][][][]).map((r) => r[0][0].join(''));
      const single = new BatchKVCache(layers);
      single.beginForward(4, mx.float32);
      const one = single.beginForward(1, mx.float32);
      assert.equal(single.capacity, 64);
      assert.deepEqual(one.mask?.shape, [1, 1, 1, 64]);
      assert.deepEqual(visible(one.mask), ['11111'.padEnd(64, '0')]);
      const batch = BatchKVCache.forPrompts(layers, [3, 1]);
      batch.beginForward(3, mx.float32);
      const step = batch.beginForward(1, mx.float32);
      assert.deepEqual(step.positions.tolist(), [[3], [1]]);
      assert.deepEqual(visible(step.mask), ['1111'.padEnd(64, '0'), '0011'.padEnd(64, '0')]);
    });
  });
}
