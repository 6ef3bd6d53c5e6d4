// Prefix reuse: keys and values of recent prompts (and finished conversations), kept under a
// token cap with least-recently-used eviction. A new request takes the longest stored prefix
// of its prompt instead of recomputing it (an inline completion after one more keystroke, the
// next turn of a chat). Entries are immutable MLX arrays, so sharing them costs nothing.

export interface PrefixEntry<C> {
  tokens: readonly number[];
  cache: C;
}

export interface PrefixMatch<C> {
  entry: PrefixEntry<C>;
  /** Leading tokens of the prompt the entry already holds. */
  length: number;
}

/** A run of a prompt found further along (or earlier) in a stored entry than where the prompt has it. */
export interface PrefixRun<C> {
  entry: PrefixEntry<C>;
  /** Where the run starts in the entry's tokens. */
  at: number;
  length: number;
}

export class PrefixStore<C> {
  /** Insertion order = recency: the first entry is the least recently used. */
  private readonly entries = new Map<string, PrefixEntry<C>>();
  private held = 0;
  hits = 0;
  misses = 0;

  constructor(
    /** Most tokens held over all entries; 0 turns prefix reuse off. */
    readonly capacityTokens: number,
    /** Shortest prefix worth reusing. */
    readonly minTokens = 4,
  ) {}

  get tokens(): number {
    return this.held;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The entry sharing the longest prefix with `prompt` (at least minTokens), marked recently used. */
  lookup(prompt: readonly number[]): PrefixMatch<C> | undefined {
    const best = this.longest(prompt);
    if (!best || best.length < this.minTokens) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    const key = keyOf(best.entry.tokens);
    this.entries.delete(key);
    this.entries.set(key, best.entry);
    return best;
  }

  /** How many leading tokens of `tokens` some entry holds (recency and hit counts untouched). */
  covered(tokens: readonly number[]): number {
    return this.longest(tokens)?.length ?? 0;
  }

  /** The entry sharing the longest prefix with `tokens` (the first of equals), however short. */
  private longest(tokens: readonly number[]): PrefixMatch<C> | undefined {
    let best: PrefixMatch<C> | undefined;
    for (const entry of this.entries.values()) {
      const n = commonPrefix(entry.tokens, tokens);
      if (!best || n > best.length) best = { entry, length: n };
    }
    return best;
  }

  /**
   * The longest run of `prompt` from `from` on (at least `minLength` tokens) that an entry holds
   * at another position: what followed a piece of context that has since left the prompt. Only
   * entry positions whose first and `minLength`-th tokens agree are followed up.
   */
  findRun(prompt: readonly number[], from: number, minLength: number): PrefixRun<C> | undefined {
    if (minLength <= 0 || prompt.length - from < minLength) return undefined;
    let best: PrefixRun<C> | undefined;
    for (const entry of this.entries.values()) {
      const t = entry.tokens;
      for (let at = 0; at + minLength <= t.length; at++) {
        if (at === from || t[at] !== prompt[from] || t[at + minLength - 1] !== prompt[from + minLength - 1]) continue;
        let n = 0;
        while (at + n < t.length && from + n < prompt.length && t[at + n] === prompt[from + n]) n++;
        if (n >= minLength && (!best || n > best.length)) best = { entry, at, length: n };
      }
    }
    if (best) {
      const key = keyOf(best.entry.tokens);
      this.entries.delete(key);
      this.entries.set(key, best.entry);
    }
    return best;
  }

  /** Stores an entry; drops entries it makes redundant (its own prefixes) and the LRU ones past the cap. */
  insert(tokens: readonly number[], cache: C): void {
    if (this.capacityTokens <= 0 || tokens.length < this.minTokens || tokens.length > this.capacityTokens) return;
    for (const [key, e] of this.entries) {
      if (e.tokens.length <= tokens.length && commonPrefix(e.tokens, tokens) === e.tokens.length) {
        this.entries.delete(key);
        this.held -= e.tokens.length;
      } else if (e.tokens.length > tokens.length && commonPrefix(e.tokens, tokens) === tokens.length) {
        return; // a longer entry already holds all of it
      }
    }
    this.entries.set(keyOf(tokens), { tokens: [...tokens], cache });
    this.held += tokens.length;
    for (const [key, e] of this.entries) {
      if (this.held <= this.capacityTokens) break;
      this.entries.delete(key);
      this.held -= e.tokens.length;
    }
  }

  clear(): void {
    this.entries.clear();
    this.held = 0;
  }
}

export function commonPrefix(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

function keyOf(tokens: readonly number[]): string {
  return tokens.join(',');
}
