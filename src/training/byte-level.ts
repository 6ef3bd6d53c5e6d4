// GPT-2 style byte-level pieces: every byte maps to one printable character, and text is first
// split by the same regex as Qwen2's pre-tokenizer (written without inline flags, so JS and
// the Rust tokenizers read it alike).

export const SPLIT_PATTERN =
  "'(?:[sS]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

const SPLIT_RE = new RegExp(SPLIT_PATTERN, 'gu');

function buildByteToChar(): string[] {
  const keep: number[] = [];
  for (let b = 33; b <= 126; b++) keep.push(b);
  for (let b = 161; b <= 172; b++) keep.push(b);
  for (let b = 174; b <= 255; b++) keep.push(b);
  const map: string[] = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) map[b] = keep.includes(b) ? String.fromCharCode(b) : String.fromCharCode(256 + extra++);
  return map;
}

/** byte value -> its printable character; index = byte. */
export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();

const encoder = new TextEncoder();

/** Splits text into pre-tokenizer pieces. */
export function splitPieces(text: string): string[] {
  return text.match(SPLIT_RE) ?? [];
}

/** A piece's UTF-8 bytes, each written as its printable character. */
export function toByteChars(piece: string): string {
  let out = '';
  for (const b of encoder.encode(piece)) out += BYTE_TO_CHAR[b];
  return out;
}
