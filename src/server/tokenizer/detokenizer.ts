// Streaming detokenizer with the prefix/read offsets of TGI and vLLM: each push decodes only the
// tokens since the last emitted boundary, plus the previous window as context, so SentencePiece
// leading spaces come out right and a character split over byte tokens is held until complete.
import type { IncrementalDecoder } from '../../batching/request-types';
import type { DecodeOptions } from './tokenizer';
import { cleanUpTokenization } from './cleanup';

const REPLACEMENT = '\uFFFD';
/** After this many held tokens, text before the final (possibly incomplete) character is released. */
const MAX_HELD_TOKENS = 16;

export interface WindowDecoding {
  readonly cleansUpSpaces: boolean;
  decode(ids: readonly number[], opts: DecodeOptions): string;
}

export class StreamingDetokenizer implements IncrementalDecoder {
  private readonly tokens: number[] = [];
  /** tokens[prefixStart, readStart) were emitted and serve as context; their text is prefixText. */
  private prefixStart = 0;
  private readStart = 0;
  private prefixText = '';
  /** Characters of the current window already released by the MAX_HELD_TOKENS rule. */
  private released = 0;
  private readonly cleanup: CleanupStream | undefined;

  constructor(private readonly tokenizer: WindowDecoding, private readonly skipSpecialTokens: boolean) {
    this.cleanup = tokenizer.cleansUpSpaces ? new CleanupStream() : undefined;
  }

  push(token: number): string {
    this.tokens.push(token);
    const fresh = this.windowText();
    if (fresh.length > this.released && !fresh.endsWith(REPLACEMENT)) {
      const out = fresh.slice(this.released);
      this.advance();
      return this.clean(out);
    }
    if (this.tokens.length - this.readStart > MAX_HELD_TOKENS && fresh.length - 1 > this.released) {
      const out = fresh.slice(this.released, fresh.length - 1);
      this.released = fresh.length - 1;
      return this.clean(out);
    }
    return '';
  }

  /** Releases everything held, a genuinely invalid byte sequence included (as U+FFFD). */
  flush(): string {
    const out = this.windowText().slice(this.released);
    if (this.tokens.length > this.readStart) this.advance();
    const text = this.clean(out);
    return this.cleanup ? text + this.cleanup.flush() : text;
  }

  private windowText(): string {
    const text = this.decode(this.prefixStart, this.tokens.length);
    return text.slice(this.prefixText.length);
  }

  private advance(): void {
    this.prefixStart = this.readStart;
    this.readStart = this.tokens.length;
    this.prefixText = this.decode(this.prefixStart, this.readStart);
    this.released = 0;
  }

  private decode(from: number, to: number): string {
    if (from === to) return '';
    return this.tokenizer.decode(this.tokens.slice(from, to), { skipSpecialTokens: this.skipSpecialTokens, cleanUpTokenizationSpaces: false });
  }

  private clean(text: string): string {
    return this.cleanup ? this.cleanup.push(text) : text;
  }
}

/** clean_up_tokenization over a stream: text is held back from the first space near the end. */
class CleanupStream {
  private held = '';

  push(text: string): string {
    const s = this.held + text;
    let cut = s.length;
    for (let i = Math.max(0, s.length - 4); i < s.length; i++) {
      if (s[i] === ' ') { cut = i; break; }
    }
    // Move the cut left until no space sits in the 4 characters before it.
    for (let moved = true; moved;) {
      moved = false;
      for (let i = Math.max(0, cut - 4); i < cut; i++) {
        if (s[i] === ' ') { cut = i; moved = true; break; }
      }
    }
    this.held = s.slice(cut);
    return cleanUpTokenization(s.slice(0, cut));
  }

  flush(): string {
    const out = cleanUpTokenization(this.held);
    this.held = '';
    return out;
  }
}
