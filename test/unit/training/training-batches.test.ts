// Training rows: FIM examples in Qwen2.5-Coder's tokens, suffix-first (SPM) or prefix-first
// (PSM) as asked, each token's loss weight (the FIM
// middle and its end-of-text can weigh more), and the same rows again from the same seed.
import assert from 'node:assert/strict';
import { BatchSource, DEFAULT_MIX, type MixOptions } from '../../../src/training/batches';
import { countPieces, trainBpe } from '../../../src/training/bpe-trainer';
import type { SourceFile } from '../../../src/training/corpus';
import { Rng } from '../../../src/shared/rng';
import { TrainingTokenizer } from '../../../src/training/tokens';

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
      // PSM: <PRE> prefix <SUF> suffix <MID> middle <EOT>; SPM: <PRE> <SUF> suffix <MID> prefix middle <EOT>.
      // Targets weigh 1 up to the middle (in SPM the prefix after <MID> too), 3 from the middle
      // through its <EOT>, then 1 again.
      let weighted = 0;
      let prefixAfterMid = 0;
      for (let r = 0; r < 3; r++) {
        const row = b.tokens.subarray(r * len, (r + 1) * len);
        const w = (t: number) => b.weights[r * (len - 1) + t - 1];
        assert.equal(row[0], pre, 'a FIM-only row starts with an example');
        const at = row.indexOf(suf);
        assert.ok(layout === 'spm' ? at === 1 : at > 1 && at < row.indexOf(mid), `row ${r}: ${layout} order`);
        let phase: 'before' | 'prompt' | 'middle' = 'before';
        for (let t = 1; t < len; t++) {
          if (row[t - 1] === mid) phase = 'prompt';
          if (phase === 'prompt' && (w(t) === 3 || layout === 'psm')) phase = 'middle';
          assert.equal(w(t), phase === 'middle' ? 3 : 1, `row ${r} token ${t} (${phase})`);
          if (phase === 'middle') weighted++;
          if (phase === 'prompt') prefixAfterMid++;
          if (row[t] === eot) phase = 'before';
        }
      }
      assert.ok(weighted > 3, 'some middles were weighted');
      assert.ok(layout === 'spm' ? prefixAfterMid > 3 : prefixAfterMid === 0, `${prefixAfterMid} prefix targets after <MID>, at weight 1`);
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
