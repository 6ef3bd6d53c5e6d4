// A fast encoder for the trained BPE (same rules as tokenizer.json's BPE model: repeatedly merge
// the lowest-ranked adjacent pair), with a piece cache. Used to tokenize the training corpus;
// tests check it against @huggingface/tokenizers.
import { splitPieces, toByteChars } from './byte-level';
import type { BpeModel } from './bpe-trainer';

export class BpeEncoder {
  private readonly ranks = new Map<string, number>();
  private readonly cache = new Map<string, number[]>();

  constructor(private readonly model: BpeModel) {
    model.merges.forEach(([a, b], i) => this.ranks.set(`${a} ${b}`, i));
  }

  encode(text: string): number[] {
    const out: number[] = [];
    for (const piece of splitPieces(text)) for (const id of this.encodePiece(toByteChars(piece))) out.push(id);
    return out;
  }

  private encodePiece(chars: string): number[] {
    const hit = this.cache.get(chars);
    if (hit) return hit;
    const parts = Array.from(chars);
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < parts.length; i++) {
        const r = this.ranks.get(`${parts[i]} ${parts[i + 1]}`);
        if (r !== undefined && r < bestRank) { bestRank = r; best = i; }
      }
      if (best < 0) break;
      parts.splice(best, 2, parts[best] + parts[best + 1]);
    }
    const ids = parts.map((p) => this.model.vocab.get(p)!);
    if (this.cache.size < 500_000) this.cache.set(chars, ids);
    return ids;
  }
}
