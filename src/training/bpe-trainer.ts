// Byte-level BPE training with incremental pair counts: each merge touches only the words
// that contain the merged pair, so a vocabulary of thousands trains on tens of MB in seconds.
import { BYTE_TO_CHAR, splitPieces, toByteChars } from './byte-level';

export interface BpeModel {
  /** token string -> id; ids 0..255 are the single bytes, merges follow in order. */
  vocab: Map<string, number>;
  /** Merged pairs, in rank order. */
  merges: [string, string][];
}

/** Counts each distinct byte-level piece of the texts. */
export function countPieces(texts: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const text of texts) {
    for (const piece of splitPieces(text)) {
      const key = toByteChars(piece);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return counts;
}

/** A max-heap of [count, pair] with lazy deletion; ties go to the smaller pair key. */
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];

  get size(): number {
    return this.counts.length;
  }

  private above(i: number, j: number): boolean {
    return this.counts[i] > this.counts[j] || (this.counts[i] === this.counts[j] && this.keys[i] < this.keys[j]);
  }

  private swap(i: number, j: number): void {
    [this.counts[i], this.counts[j]] = [this.counts[j], this.counts[i]];
    [this.keys[i], this.keys[j]] = [this.keys[j], this.keys[i]];
  }

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    let i = this.counts.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.above(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  pop(): [number, number] {
    const top: [number, number] = [this.counts[0], this.keys[0]];
    const lastC = this.counts.pop()!;
    const lastK = this.keys.pop()!;
    if (this.counts.length > 0) {
      this.counts[0] = lastC;
      this.keys[0] = lastK;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < this.counts.length && this.above(l, m)) m = l;
        if (r < this.counts.length && this.above(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
}

const PAIR = 1 << 16;

/** Learns `numMerges` merges (fewer if the corpus runs out of pairs seen `minCount` times). */
export function trainBpe(pieceCounts: Map<string, number>, numMerges: number, minCount = 2): BpeModel {
  const tokens: string[] = [...BYTE_TO_CHAR];
  const charId = new Map<string, number>(tokens.map((t, i) => [t, i]));
  if (256 + numMerges >= PAIR) throw new Error(`vocabulary must stay below ${PAIR} tokens`);
  const sorted = [...pieceCounts.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const words: number[][] = sorted.map(([w]) => Array.from(w, (c) => charId.get(c)!));
  const freq = sorted.map(([, n]) => n);

  const pairCount = new Map<number, number>();
  const where = new Map<number, Set<number>>();
  const heap = new PairHeap();
  const add = (key: number, n: number, word: number) => {
    pairCount.set(key, (pairCount.get(key) ?? 0) + n);
    let s = where.get(key);
    if (!s) where.set(key, (s = new Set()));
    s.add(word);
  };
  words.forEach((w, i) => {
    for (let j = 0; j + 1 < w.length; j++) add(w[j] * PAIR + w[j + 1], freq[i], i);
  });
  for (const [key, n] of pairCount) heap.push(n, key);

  const merges: [string, string][] = [];
  while (merges.length < numMerges && heap.size > 0) {
    const [n, key] = heap.pop();
    const current = pairCount.get(key) ?? 0;
    if (n !== current) {
      if (current > 0) heap.push(current, key);
      continue;
    }
    if (n < minCount) break;
    const a = Math.floor(key / PAIR);
    const b = key % PAIR;
    const id = tokens.length;
    tokens.push(tokens[a] + tokens[b]);
    merges.push([tokens[a], tokens[b]]);
    const touched = new Set<number>();
    for (const wi of where.get(key) ?? []) {
      const w = words[wi];
      let found = false;
      for (let j = 0; j + 1 < w.length; j++) if (w[j] === a && w[j + 1] === b) { found = true; break; }
      if (!found) continue;
      const f = freq[wi];
      for (let j = 0; j + 1 < w.length; j++) {
        const k = w[j] * PAIR + w[j + 1];
        pairCount.set(k, pairCount.get(k)! - f);
        touched.add(k);
      }
      const merged: number[] = [];
      for (let j = 0; j < w.length; j++) {
        if (j + 1 < w.length && w[j] === a && w[j + 1] === b) { merged.push(id); j++; } else merged.push(w[j]);
      }
      words[wi] = merged;
      for (let j = 0; j + 1 < merged.length; j++) {
        const k = merged[j] * PAIR + merged[j + 1];
        add(k, f, wi);
        touched.add(k);
      }
    }
    where.delete(key);
    pairCount.delete(key);
    for (const k of touched) {
      const c = pairCount.get(k) ?? 0;
      if (c > 0 && k !== key) heap.push(c, k);
    }
  }
  return { vocab: new Map(tokens.map((t, i) => [t, i])), merges };
}
