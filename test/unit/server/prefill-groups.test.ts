// Grouping of a step's prompt chunks into left-padded forward passes.
import assert from 'node:assert/strict';
import { groupPrefills, type PrefillItem } from '../../../src/server/engine/prefill-groups';

const fresh = (length: number): PrefillItem => ({ length, fresh: true });
const mid = (length: number): PrefillItem => ({ length, fresh: false });

/** Every item once, and no row that holds tokens padded. */
function checkValid(items: PrefillItem[], groups: number[][]): void {
  assert.deepEqual(groups.flat().sort((a, b) => a - b), items.map((_, i) => i));
  for (const g of groups) {
    const width = Math.max(...g.map((i) => items[i].length));
    for (const i of g) if (!items[i].fresh) assert.equal(items[i].length, width, `item ${i} would be padded`);
  }
}

describe('prefill groups', () => {
  it('puts nothing in no group', () => {
    assert.deepEqual(groupPrefills([], 16), []);
  });

  it('runs fresh chunks of equal length in one pass', () => {
    const items = [fresh(20), fresh(20), fresh(20)];
    assert.deepEqual(groupPrefills(items, 16), [[0, 1, 2]]);
  });

  it('pads short fresh chunks when the padding costs less than a pass', () => {
    const items = [fresh(20), fresh(18), fresh(19)];
    const groups = groupPrefills(items, 16);
    checkValid(items, groups);
    assert.equal(groups.length, 1);
  });

  it('keeps a short chunk out of a long pass when padding it costs more than its own pass', () => {
    const items = [fresh(128), fresh(10), fresh(12)];
    const groups = groupPrefills(items, 16);
    checkValid(items, groups);
    assert.deepEqual(groups, [[0], [1, 2]]);
  });

  it('never pads a row that already holds tokens', () => {
    const items = [mid(12), fresh(40), mid(12), fresh(9), mid(7)];
    const groups = groupPrefills(items, 1000);
    checkValid(items, groups);
    // The huge overhead favours few passes: 40 alone would pad the 12s, so mid rows lead their own.
    assert.ok(groups.some((g) => g.includes(0) && g.includes(2)), JSON.stringify(groups));
    assert.ok(groups.some((g) => g.includes(4) && g.length === 1), JSON.stringify(groups));
  });

  it('with no pass overhead, groups only chunks of one length', () => {
    const items = [fresh(5), fresh(6), fresh(5), mid(6)];
    const groups = groupPrefills(items, 0);
    checkValid(items, groups);
    for (const g of groups) assert.equal(new Set(g.map((i) => items[i].length)).size, 1);
  });

  it('returns the cheapest partition on random inputs (brute force over small sets)', () => {
    let x = 7;
    const rand = (n: number) => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) % n);
    for (let t = 0; t < 200; t++) {
      const items = Array.from({ length: 1 + rand(6) }, () => ({ length: 1 + rand(40), fresh: rand(3) > 0 }));
      const overhead = rand(30);
      const groups = groupPrefills(items, overhead);
      checkValid(items, groups);
      const cost = (gs: number[][]) => gs.reduce((s, g) => s + overhead + g.length * Math.max(...g.map((i) => items[i].length)), 0);
      assert.equal(cost(groups), bestCost(items, overhead), JSON.stringify({ items, overhead, groups }));
    }
  });
});

/** Cheapest valid partition by enumerating every set partition. */
function bestCost(items: PrefillItem[], overhead: number): number {
  let best = Infinity;
  const assign = (i: number, groups: number[][]): void => {
    if (i === items.length) {
      let cost = 0;
      for (const g of groups) {
        const width = Math.max(...g.map((k) => items[k].length));
        if (g.some((k) => !items[k].fresh && items[k].length !== width)) return;
        cost += overhead + g.length * width;
      }
      best = Math.min(best, cost);
      return;
    }
    for (const g of groups) {
      g.push(i);
      assign(i + 1, groups);
      g.pop();
    }
    groups.push([i]);
    assign(i + 1, groups);
    groups.pop();
  };
  assign(0, []);
  return best;
}
