// One request's stream of events from the runner to its consumer (the HTTP layer, the CLI, a
// benchmark): text deltas, then one `finish`; a failure is thrown from the iteration.
import { MlxBatchError } from '../shared/errors';
import type { RequestId } from './engine';
import type { FinishReason, TokenLogprob, TokenUsage } from './request-types';

export interface RequestTiming {
  /** Submit to first token. */
  ttftMs?: number;
  /** Mean gap between consecutive tokens. */
  meanInterTokenMs?: number;
  /** Submit to finish. */
  totalMs: number;
}

/**
 * A stream's events, the same from the runner to the HTTP edge: text deltas (one per sampled
 * token, text may be ''; with `logprobs` when the request asked, one per token), then one
 * `finish` (finishReason 'abort' when cancelled).
 */
export type GenerationEvent =
  | { type: 'delta'; text: string; tokens: number[]; logprobs?: TokenLogprob[] }
  | { type: 'finish'; finishReason: Exclude<FinishReason, 'error'>; usage: TokenUsage; timing: RequestTiming; stopString?: string };

/** A whole generation, for callers that do not stream. */
export interface GenerationResult {
  text: string;
  tokens: number[];
  /** When the request asked for them: one per token. */
  logprobs?: TokenLogprob[];
  finishReason: Exclude<FinishReason, 'error'>;
  usage: TokenUsage;
  timing: RequestTiming;
}

/**
 * One request's events, for one consumer. Iteration throws the request's `MlxBatchError` if it
 * fails; an abort is not an error (it ends with finishReason 'abort'). Leaving the loop early
 * (break, return, throw) aborts the request.
 */
export class GenerationStream implements AsyncIterable<GenerationEvent> {
  private readonly queue: GenerationEvent[] = [];
  private ended = false;
  private failure?: MlxBatchError;
  private wake?: () => void;

  constructor(readonly id: RequestId, private readonly cancel: () => void) {}

  /** Cancels the request (same as its AbortSignal firing). */
  abort(): void {
    if (!this.ended) this.cancel();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<GenerationEvent> {
    try {
      for (;;) {
        const ev = this.queue.shift();
        if (ev) yield ev;
        else if (this.failure) throw this.failure;
        else if (this.ended) return;
        else await new Promise<void>((resolve) => (this.wake = resolve));
      }
    } finally {
      this.abort();
    }
  }

  /** Reads the stream to its end. */
  async collect(): Promise<GenerationResult> {
    let text = '';
    const tokens: number[] = [];
    let logprobs: TokenLogprob[] | undefined;
    for await (const ev of this) {
      if (ev.type === 'delta') {
        text += ev.text;
        tokens.push(...ev.tokens);
        if (ev.logprobs) (logprobs ??= []).push(...ev.logprobs);
      } else return { text, tokens, ...(logprobs ? { logprobs } : {}), finishReason: ev.finishReason, usage: ev.usage, timing: ev.timing };
    }
    throw new MlxBatchError('internal', `Request ${this.id} ended without a final event.`);
  }

  /** @internal */
  push(ev: GenerationEvent): void {
    this.queue.push(ev);
    if (ev.type === 'finish') this.ended = true;
    this.signal();
  }

  /** @internal */
  fail(error: MlxBatchError): void {
    this.failure = error;
    this.ended = true;
    this.signal();
  }

  private signal(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
}
