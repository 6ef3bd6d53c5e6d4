// The bytes one token stands for, which OpenAI's logprobs report (`bytes`) because a token may be
// part of a character. Byte-level BPE (GPT-2, Qwen, Llama 3) writes each byte as one printable
// character: the table below maps it back. SentencePiece with byte fallback (Llama 2) writes raw
// bytes as `<0xNN>` and a space as `▁`. Other vocabularies, and added tokens, are their text.
import type { JsonObject } from '../json-file';

export type TokenBytes = (id: number) => Uint8Array;

/** What one id decodes to, as the tokenizer knows it. */
export interface TokenSource {
  idToToken(id: number): string | undefined;
  decode(ids: readonly number[]): string;
  /** Added tokens (their content is plain text, never byte-encoded), by content. */
  addedTokens: ReadonlyMap<string, number>;
}

const utf8 = new TextEncoder();

/** GPT-2's bytes_to_unicode, inverted: the byte each printable character stands for. */
function byteLevelTable(): Map<string, number> {
  const table = new Map<string, number>();
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table.set(String.fromCodePoint(printable ? b : 256 + extra++), b);
  }
  return table;
}

/** How tokens of this tokenizer.json become bytes. */
export function tokenBytesOf(tokenizerJson: JsonObject, src: TokenSource): TokenBytes {
  const decoder = JSON.stringify(tokenizerJson.decoder ?? null);
  const added = new Set(src.addedTokens.values());
  const text = (id: number) => utf8.encode(src.decode([id]));
  if (decoder.includes('"ByteLevel"')) {
    const table = byteLevelTable();
    return (id) => {
      const token = src.idToToken(id);
      if (token === undefined || added.has(id)) return text(id);
      const chars = [...token];
      if (!chars.every((c) => table.has(c))) return text(id);
      return Uint8Array.from(chars, (c) => table.get(c)!);
    };
  }
  if (decoder.includes('"ByteFallback"')) {
    return (id) => {
      const token = src.idToToken(id);
      if (token === undefined || added.has(id)) return text(id);
      const byte = /^<0x([0-9A-Fa-f]{2})>$/.exec(token);
      return byte ? Uint8Array.of(parseInt(byte[1], 16)) : utf8.encode(token.replace(/\u2581/g, ' '));
    };
  }
  return text;
}
