// A deterministic tokenizer for HTTP tests: one token per code point, chat and FIM rendered as
// plain markers. Lets the tests predict every prompt length and every generated text.
import { MlxBatchError } from '../../../src/shared/errors';
import type { IncrementalDecoder } from '../../../src/batching/request-types';
import type { ChatMessage, ExtraContextChunk } from '../../../src/shared/protocol';
import type { ExtraContextTokens } from '../../../src/server/fim';
import type { PromptTokenizer } from '../../../src/server/http/runner-service';

export const EOS = 3;

export class CharTokenizer implements PromptTokenizer {
  readonly eosTokenIds = [EOS];
  readonly fimStopIds = [EOS, 4];

  constructor(private readonly fim = true) {}

  encode(text: string): number[] {
    return [...text].map((c) => c.codePointAt(0)!);
  }

  encodeChat(messages: ChatMessage[]): number[] {
    return this.encode(`${messages.map((m) => `<${m.role}>${m.content}`).join('')}<assistant>`);
  }

  encodeFim(prefix: string, suffix: string, extra: readonly number[] = []): number[] {
    if (!this.fim) throw new MlxBatchError('unsupported_feature', 'this model has no fill-in-the-middle tokens', 'suffix');
    return [...extra, ...this.encode(`<PRE>${prefix}<SUF>${suffix}<MID>`)];
  }

  /** `<REPO>`, then `<FILE name>text` per piece, then `<FILE current>`: predictable lengths. */
  encodeExtra(chunks: readonly ExtraContextChunk[], currentFile = 'current'): ExtraContextTokens {
    return {
      open: this.encode('<REPO>'),
      chunks: chunks.map((c) => this.encode(`<FILE ${c.filename}>${c.text}`)),
      close: this.encode(`<FILE ${currentFile}>`),
    };
  }

  tokenBytes(id: number): Uint8Array {
    return new TextEncoder().encode(id === EOS ? '' : String.fromCodePoint(id));
  }

  decoder(): IncrementalDecoder {
    return { push: (t) => (t === EOS ? '' : String.fromCodePoint(t)), flush: () => '' };
  }
}

/** Next token: the next lowercase letter after the last one (a after z), so text is predictable. */
export function nextLetter(last: number): number {
  const i = last >= 97 && last <= 122 ? last - 97 + 1 : 0;
  return 97 + (i % 26);
}
