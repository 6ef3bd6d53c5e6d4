// Token log-probabilities in OpenAI's two shapes: chat's `logprobs.content` (a token, its bytes,
// its log-probability and the alternatives) and the legacy completions' parallel lists.
import type { TokenLogprob } from '../../batching/request-types';
import type { ChatLogprobs, ChatTokenLogprob, CompletionLogprobs } from '../../shared/protocol';

/** A token as a client reads it: its text (U+FFFD where it holds part of a character) and its bytes. */
export type TokenText = (id: number) => { token: string; bytes: number[] };

const decoder = new TextDecoder();

/** TokenText over a tokenizer's bytes of one token. */
export function tokenText(bytesOf: (id: number) => Uint8Array): TokenText {
  return (id) => {
    const bytes = bytesOf(id);
    return { token: decoder.decode(bytes), bytes: [...bytes] };
  };
}

export function chatLogprobs(list: readonly TokenLogprob[], text: TokenText): ChatLogprobs {
  const entry = (token: number, logprob: number): ChatTokenLogprob => ({ ...text(token), logprob });
  return {
    content: list.map((lp) => ({ ...entry(lp.token, lp.logprob), top_logprobs: lp.top.map((t) => entry(t.token, t.logprob)) })),
    refusal: null,
  };
}

/** `offset`: where the first token's text starts in the choice's text (streamed chunks continue it). */
export function completionLogprobs(list: readonly TokenLogprob[], text: TokenText, offset = 0): CompletionLogprobs {
  const out: CompletionLogprobs = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
  for (const lp of list) {
    const { token } = text(lp.token);
    out.tokens.push(token);
    out.token_logprobs.push(lp.logprob);
    // Two alternatives may read the same (different ids, one text): the likelier one is kept.
    const top: Record<string, number> = {};
    for (const t of lp.top) {
      const key = text(t.token).token;
      if (!(key in top)) top[key] = t.logprob;
    }
    out.top_logprobs.push(top);
    out.text_offset.push(offset);
    offset += token.length;
  }
  return out;
}
