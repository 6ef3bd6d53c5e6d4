// Which prompt chunks of one step run together in one left-padded forward pass. A row that
// already holds tokens cannot take padding (it would sit between its tokens), so it only joins
// a pass as long as its chunk; a fresh row (nothing computed) is left-padded to the pass length.
// Padding costs compute, a pass costs a fixed overhead (reading every weight once): the
// partition minimises passes * overheadTokens + padded tokens.

export interface PrefillItem {
  /** Tokens of this chunk. */
  length: number;
  /** True when the row holds no tokens yet, so it may be left-padded. */
  fresh: boolean;
}

/** Groups of item indices (each group one forward pass), in input order within a group. */
export function groupPrefills(items: readonly PrefillItem[], overheadTokens: number): number[][] {
  // Longest first; on equal lengths a row that cannot be padded comes first.
  const order = items.map((_, i) => i).sort((a, b) =>
    items[b].length - items[a].length || Number(items[a].fresh) - Number(items[b].fresh) || a - b);
  const n = order.length;
  // best[i]: cheapest cost of order[i..n); cut[i]: where the first group of that solution ends.
  const best = new Array<number>(n + 1).fill(Infinity);
  const cut = new Array<number>(n + 1).fill(n);
  best[n] = 0;
  for (let i = n - 1; i >= 0; i--) {
    const width = items[order[i]].length;
    for (let j = i + 1; j <= n; j++) {
      const last = items[order[j - 1]];
      if (!last.fresh && last.length !== width) break;
      const cost = overheadTokens + (j - i) * width + best[j];
      if (cost < best[i]) {
        best[i] = cost;
        cut[i] = j;
      }
    }
  }
  const groups: number[][] = [];
  for (let i = 0; i < n; i = cut[i]) groups.push(order.slice(i, cut[i]).sort((a, b) => a - b));
  return groups;
}
