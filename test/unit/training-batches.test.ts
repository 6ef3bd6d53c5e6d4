// Training rows: FIM examples in Qwen2.5-Coder's tokens, suffix-first (SPM) or prefix-first
// (PSM) as asked, each token's loss weight (the FIM
// middle and its end-of-text can weigh more), and the same rows again from the same seed.
import assert from 'node:assert/strict';
import { BatchSource, DEFAULT_MIX, type MixOptions } from '../../src/training/batches';
import { countPieces, trainBpe } from '../../src/training/bpe-trainer';
import type { SourceFile } from '../../src/training/corpus';
import { Rng } from '../../src/training/rng';
import { TrainingTokenizer } from '../../src/training/tokens';

const TEXTS = Array.from({ length: 6 }, (_, f) => Array.from({ length: 30 }, (_, i) =>
  `export function f${f}_${i}(a: number, b: string): number {\n    return a + ${i} * b.length;\n}\n`).join(''));
const FILES: SourceFile[] = TEXTS.map((text, i) => ({ path: `lib/m${i}.ts`, pkg: 'lib', version: '1.0.0', license: 'MIT', text }));
const TOK = new TrainingTokenizer(trainBpe(countPieces(TEXTS), 200));

function source(mix: Partial<MixOptions>, seed = 5): BatchSource {
  return new BatchSource(FILES, TOK, new Rng(seed), { ...DEFAULT_MIX, ...mix });
}

describe('training batches', () => {
  for (const layout of ['spm', 'psm'] as const) {
    it(`builds ${layout.toUpperCase()} FIM examples and weighs the middle and its end-of-text as asked, every other target 1`, () => {
      const len = 400;
      const b = source({ fimShare: 1, chatShare: 0, fimMiddleWeight: 3, fimLayout: layout }).batch(3, len);
      assert.equal(b.tokens.length, 3 * len);
      assert.equal(b.weights.length, 3 * (len - 1));
      const { '<|fim_prefix|>': pre, '<|fim_suffix|>': suf, '<|fim_middle|>': mid, '<|endoftext|>': eot } = TOK.special;
      const [first, second] = layout === 'spm' ? [suf, pre] : [pre, suf];
      let weighted = 0;
      for (let r = 0; r < 3; r++) {
        const row = b.tokens.subarray(r * len, (r + 1) * len);
        assert.equal(row[0], first, 'a FIM-only row starts with an example');
        const at = row.indexOf(second);
        assert.ok(at > 0 && at < row.indexOf(mid), `row ${r}: ${layout} order`);
        let inMiddle = false;
        for (let t = 1; t < len; t++) {
          if (row[t - 1] === mid) inMiddle = true;
          const w = b.weights[r * (len - 1) + t - 1];
          assert.equal(w, inMiddle ? 3 : 1, `row ${r} token ${t}`);
          if (inMiddle) weighted++;
          if (row[t] === eot) inMiddle = false;
        }
      }
      assert.ok(weighted > 3, 'some middles were weighted');
    });
  }

  it('weighs everything 1 by default and repeats its rows for the same seed', () => {
    const a = source({}).batch(2, 300);
    assert.ok(a.weights.every((w) => w === 1));
    const b = source({}).batch(2, 300);
    assert.deepEqual(a.tokens, b.tokens);
    assert.notDeepEqual(source({}, 6).batch(2, 300).tokens, a.tokens);
  });
});
