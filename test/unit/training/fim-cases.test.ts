// Held-out FIM cases are cut the way an editor asks (whole context lines around 1-3 middle
// lines), and scored on the first line: exact, indentation, first 8 characters, and what the
// "indent like the line above" rule would get.
import assert from 'node:assert/strict';
import { cutFimCase, fimPrompt, scoreFim } from '../../../src/training/fim-examples';
import { Rng } from '../../../src/shared/rng';

const FILE = Array.from({ length: 40 }, (_, i) => `export function f${i}(a: number): number {\n  return a * ${i};\n}\n`).join('');

describe('FIM cases and their score', () => {
  it('cuts prefix + middle + suffix back into the file, at line boundaries, within the sizes asked', () => {
    const rng = new Rng(11);
    for (let i = 0; i < 50; i++) {
      const c = cutFimCase(FILE, rng, { maxPrefixChars: 120, maxSuffixChars: 60, midLineShare: 0 });
      assert.ok(c);
      assert.ok(FILE.includes(c.prefix + c.middle + c.suffix));
      assert.ok(c.prefix.length <= 120 && c.suffix.length <= 60, `${c.prefix.length} + ${c.suffix.length}`);
      assert.ok(c.prefix === '' || c.prefix.endsWith('\n'));
      assert.ok(c.middle.endsWith('\n') && /[a-z0-9]/.test(c.middle.split('\n')[0]));
      assert.ok(c.suffix === '' || c.suffix.endsWith('\n'));
    }
  });

  it('writes PSM and SPM prompts in Qwen2.5-Coder tokens', () => {
    assert.equal(fimPrompt({ prefix: 'P', suffix: 'S' }, 'psm'), '<|fim_prefix|>P<|fim_suffix|>S<|fim_middle|>');
    assert.equal(fimPrompt({ prefix: 'P', suffix: 'S' }, 'spm'), '<|fim_prefix|><|fim_suffix|>S<|fim_middle|>P');
  });

  it('scores the first line only: exact, indentation, first 8 characters, and the indentation rule', () => {
    const prefix = 'class A {\n  m() {\n    const x = 1;\n\n';
    const s = scoreFim([
      { prefix, middle: '    return x;\n  }\n', completion: '    return x;\n  } // differs later' },
      { prefix, middle: '    return x;\n', completion: '    return y;' },
      { prefix, middle: '  }\n', completion: '    }' },
      { prefix, middle: '    if (x) {\n', completion: '' },
    ]);
    assert.deepEqual(s, { cases: 4, exact: 1, indentation: 2, first8: 2, indentationBaseline: 3 });
  });
});
