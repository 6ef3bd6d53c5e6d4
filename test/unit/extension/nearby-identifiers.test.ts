import assert from 'node:assert/strict';
import { MAX_IDENTIFIERS, nearbyIdentifiers } from '../../../src/extension/completion/nearby-identifiers';

const names = (line: string, before: string | undefined, character: number) => nearbyIdentifiers(line, before, character).map((i) => i.name);

describe('extension nearby identifiers', () => {
  it('takes the cursor line nearest the cursor first, then the line before from its end', () => {
    const line = '  const total = sumPrices(cart.items, ';
    assert.deepEqual(names(line, 'function checkout(cart: Cart) {', line.length), ['items', 'cart', 'sumPrices', 'total']);
    assert.equal(MAX_IDENTIFIERS, 4);
    assert.deepEqual(names('  return ', 'function checkout(cart: Cart) {', 9), ['Cart', 'cart', 'checkout']);
  });

  it('leaves out keywords, one-letter names, repeats and the word being typed', () => {
    const line = 'if (x && parse(parse(';
    assert.deepEqual(names(line, undefined, line.length), ['parse']);
    for (const cursor of [5, 7]) {
      assert.deepEqual(nearbyIdentifiers('a = Foo.bar', '', cursor), [{ name: 'bar', lineOffset: 0, character: 8 }], `the cursor at ${cursor} is in Foo: it is being typed`);
    }
  });

  it('gives each identifier where it starts, on its line', () => {
    assert.deepEqual(nearbyIdentifiers('x', '  helper();', 1), [{ name: 'helper', lineOffset: -1, character: 2 }]);
  });
});
