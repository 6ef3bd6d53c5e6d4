// A held-out file whose text a training file holds (a bundle, a vendored copy) is found, and
// `dropHeldOutCopies` leaves that training file out; files that only share short or common
// lines are kept.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { collectCorpus } from '../../../src/training/corpus';
import { fimByCopyShare } from '../../../src/training/evaluate';
import { COPY_SHARE, scanHeldOutCopies } from '../../../src/training/held-out-copies';
import { fnv1a } from '../../../src/shared/rng';

/** A module of `n` functions whose long lines are unique to `name`. */
function moduleText(name: string, n = 12): string {
  return Array.from({ length: n }, (_, i) => `export function ${name}Helper${i}(value: number): number {\n  return value * ${i} + ${name.length};\n}\n`).join('');
}

describe('copies of held-out files in the training files', () => {
  it('measures the largest share of a held-out file that one training file holds', () => {
    const held = [{ text: moduleText('alpha') }, { text: moduleText('beta') }];
    const halfOfBeta = moduleText('beta').split('\n').slice(0, 18).join('\n');
    const train = [
      { text: `// bundle\n${moduleText('alpha')}${moduleText('gamma')}` },
      { text: halfOfBeta },
      { text: moduleText('delta') },
      { text: '}\n}\n  return;\n'.repeat(40) },
    ];
    const scan = scanHeldOutCopies(train, held);
    assert.equal(scan.heldOutShare[0], 1);
    assert.equal(scan.heldOutSource[0], 0);
    assert.ok(scan.heldOutShare[1] > 0.3 && scan.heldOutShare[1] < COPY_SHARE, String(scan.heldOutShare[1]));
    assert.equal(scan.heldOutSource[1], 1);
    assert.deepEqual([...scan.copies], [0]);
  });

  it('collectCorpus leaves the copies out of training only when asked, and never touches the held-out split', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mlx-batch-corpus-'));
    try {
      const pkg = path.join(root, 'node_modules', 'pkg');
      fs.mkdirSync(pkg, { recursive: true });
      fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'pkg', version: '1.0.0', license: 'MIT' }));
      // Module names whose split is known: the held-out share is 0.5, decided by a hash of `pkg:name`.
      const heldOut = (name: string) => fnv1a(`pkg:${name}`) / 4294967296 < 0.5;
      const names = Array.from({ length: 40 }, (_, i) => `mod${i}`);
      const held = names.filter(heldOut).slice(0, 2);
      const kept = names.filter((n) => !heldOut(n)).slice(0, 3);
      const bundle = names.map((n) => `bundle${n}`).find((n) => !heldOut(n))!;
      for (const n of [...held, ...kept]) fs.writeFileSync(path.join(pkg, `${n}.ts`), moduleText(n));
      fs.writeFileSync(path.join(pkg, `${bundle}.js`), held.map((n) => moduleText(n)).join('\n'));

      const plain = collectCorpus({ root: path.join(root, 'node_modules'), maxBytes: 1e7, heldOutShare: 0.5 });
      const clean = collectCorpus({ root: path.join(root, 'node_modules'), maxBytes: 1e7, heldOutShare: 0.5, dropHeldOutCopies: true });
      const names2 = (files: { path: string }[]) => files.map((f) => path.basename(f.path)).sort();
      assert.deepEqual(names2(plain.heldOut), held.map((n) => `${n}.ts`).sort());
      assert.deepEqual(names2(clean.heldOut), names2(plain.heldOut));
      assert.deepEqual(names2(plain.train), [`${bundle}.js`, ...kept.map((n) => `${n}.ts`)].sort());
      assert.deepEqual(names2(clean.train), kept.map((n) => `${n}.ts`).sort());
      assert.equal(plain.droppedCopies, 0);
      assert.equal(clean.droppedCopies, 1);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('eval-model counts exact first lines by how much of the case\'s file training holds, every case in one bucket', () => {
    const r = (copyShare: number, firstLineMatch: boolean) => ({ copyShare, firstLineMatch });
    const buckets = fimByCopyShare([r(0, true), r(0.19, false), r(0.2, true), r(0.5, false), r(0.79, true), r(COPY_SHARE, true), r(1, false)]);
    assert.deepEqual(buckets.map((b) => [b.from, b.to, b.cases, b.exact]), [[0, 0.2, 2, 1], [0.2, 0.5, 1, 1], [0.5, COPY_SHARE, 2, 1], [COPY_SHARE, 1, 2, 1]]);
  });
});
