// Runs one generation request for either OpenAI endpoint: submits it to the batch, streams
// deltas as server-sent events or collects them, and cancels it when the client goes away.
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { GenerationEvent } from '../../../batching/generation-stream';
import type { TokenLogprob, TokenUsage } from '../../../batching/request-types';
import type { ChoiceFinishReason, Usage } from '../../../shared/protocol';
import type { RequestContext } from '../context';
import { errorBody, reportError, sendJson } from '../errors';
import { MAX_CHOICES, type CommonOptions } from '../requests';
import type { FittedPrompt } from '../prompt';
import type { InferenceService } from '../service';
import { SseStream } from '../sse';
import { tokenText, type TokenText } from '../logprobs';
import { dropTypedStart } from '../../fim';

/** How one endpoint shapes its chunks and its final response; `index` is the choice's. */
export interface ResponseFormat {
  idPrefix: string;
  /**
   * A streamed chunk carrying a text delta (first = the first chunk of this choice) and, when the
   * request asked for them, its tokens' logprobs in the endpoint's shape.
   */
  chunk(base: Base, text: string, first: boolean, index: number, logprobs: unknown): unknown;
  /** The streamed chunk carrying a choice's finish reason (usage: null unless it is the last one's). */
  finishChunk(base: Base, reason: ChoiceFinishReason, usage: Usage | null, index: number): unknown;
  /** The usage-only chunk of `stream_options.include_usage`. */
  usageChunk(base: Base, usage: Usage): unknown;
  /** The whole response without `stream`, one entry per choice. */
  full(base: Base, choices: { text: string; reason: ChoiceFinishReason; logprobs: unknown }[], usage: Usage): unknown;
  /** Tokens' logprobs in the endpoint's shape; `offset`: where the first token's text starts in the choice. */
  logprobs(list: readonly TokenLogprob[], text: TokenText, offset: number): unknown;
}

export interface Base {
  id: string;
  created: number;
  model: string;
}

/** The server's token counts as OpenAI's snake_case `usage`, at the edge. */
export function toUsage(u: TokenUsage): Usage {
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.promptTokens + u.completionTokens,
    prompt_tokens_details: { cached_tokens: u.cachedTokens },
    completion_tokens_details: { accepted_prediction_tokens: u.acceptedDraftTokens, rejected_prediction_tokens: u.rejectedDraftTokens },
  };
}

/**
 * The usage of n choices of one prompt, as OpenAI counts it: the prompt once (the first choice's,
 * which computed it), generated tokens over all choices.
 */
export function choicesUsage(usages: TokenUsage[]): TokenUsage {
  const sum = (f: (u: TokenUsage) => number) => usages.reduce((a, u) => a + f(u), 0);
  return {
    promptTokens: usages[0].promptTokens,
    cachedTokens: usages[0].cachedTokens,
    completionTokens: sum((u) => u.completionTokens),
    acceptedDraftTokens: sum((u) => u.acceptedDraftTokens),
    rejectedDraftTokens: sum((u) => u.rejectedDraftTokens),
  };
}

/** One choice's event. */
interface ChoiceEvent {
  index: number;
  event: GenerationEvent;
}

/** The events of several streams as they come, each tagged with its stream's index. */
async function* merge(streams: AsyncIterable<GenerationEvent>[]): AsyncGenerator<ChoiceEvent> {
  const its = streams.map((s) => s[Symbol.asyncIterator]());
  const next = (index: number) => its[index].next().then((r) => ({ index, r }));
  const pending = new Map(its.map((_, i) => [i, next(i)]));
  try {
    while (pending.size > 0) {
      const { index, r } = await Promise.race(pending.values());
      if (r.done) {
        pending.delete(index);
        continue;
      }
      pending.set(index, next(index));
      yield { index, event: r.value };
    }
  } finally {
    await Promise.all(its.map((it) => it.return?.()));
  }
}

export async function runGeneration(
  ctx: RequestContext, service: InferenceService, opts: CommonOptions, prompt: FittedPrompt,
  format: ResponseFormat, prefixText = '',
): Promise<void> {
  const { metrics } = ctx;
  const abort = new AbortController();
  // Every choice's request listens to it.
  setMaxListeners(MAX_CHOICES + 4, abort.signal);
  const detach = abortOnClientClose(ctx, abort);
  const base: Base = {
    id: `${format.idPrefix}-${randomBytes(12).toString('hex')}`,
    created: Math.floor(Date.now() / 1000),
    model: service.model.id,
  };
  const generate = (index: number) => {
    const seed = opts.sampling.seed;
    const events = service.generate({
      id: opts.n > 1 ? `${ctx.id}-${index}` : ctx.id,
      promptTokens: prompt.tokens,
      maxTokens: prompt.maxTokens,
      // Each choice draws its own tokens: a seeded request seeds choice i with seed + i.
      sampling: index > 0 && seed !== undefined ? { ...opts.sampling, seed: seed + index } : opts.sampling,
      stop: opts.stop,
      priority: opts.priority,
      ignoreEos: opts.ignoreEos,
      fim: prompt.fim,
      speculative: opts.speculative,
      ...(opts.prediction ? { prediction: opts.prediction } : {}),
    }, abort.signal);
    return prompt.typedBlanks ? dropTypedStart(events, prompt.typedBlanks) : events;
  };
  // Submitting throws at once when the queue is full, before any header is written.
  const first = generate(0);
  // The other choices start once the first has computed the prompt: they take its keys and
  // values from the prefix store and compute only its last token, then decode as rows of their own.
  let promptDone!: () => void;
  const ready = new Promise<void>((resolve) => (promptDone = resolve));
  async function* firstChoice(): AsyncGenerator<GenerationEvent> {
    try {
      for await (const e of first) {
        promptDone();
        yield e;
      }
    } finally {
      promptDone();
    }
  }
  async function* laterChoice(index: number): AsyncGenerator<GenerationEvent> {
    await ready;
    if (abort.signal.aborted) return;
    yield* generate(index);
  }
  const streams = [firstChoice(), ...Array.from({ length: opts.n - 1 }, (_, i) => laterChoice(i + 1))];
  const events = merge(streams);
  const logprobs = opts.sampling.logprobs === undefined ? undefined : tokenText((id) => service.tokenBytes(id));
  try {
    if (opts.stream) await stream(ctx, events, opts, format, base, prefixText, logprobs);
    else await collect(ctx, events, opts.n, format, base, prefixText, logprobs);
  } finally {
    abort.abort();
    detach();
    metrics.duration.observe((performance.now() - ctx.arrived) / 1000);
  }
}

/**
 * Aborts `abort` when the client goes away before the response is complete (counted in the
 * metrics), also when it left while the body was read; returns what stops listening.
 */
export function abortOnClientClose(ctx: RequestContext, abort: AbortController): () => void {
  const { res, metrics } = ctx;
  const onClose = () => {
    if (!res.writableFinished) {
      metrics.aborted += 1;
      abort.abort();
    }
  };
  res.on('close', onClose);
  if (res.destroyed || ctx.req.socket.destroyed) onClose();
  return () => res.off('close', onClose);
}

async function stream(
  ctx: RequestContext, events: AsyncIterable<ChoiceEvent>, opts: CommonOptions,
  format: ResponseFormat, base: Base, prefixText: string, text: TokenText | undefined,
): Promise<void> {
  const sse = new SseStream(ctx.res);
  const started = new Array<boolean>(opts.n).fill(false);
  const usages: TokenUsage[] = [];
  // Logprobs of tokens whose text is not out yet (held back by a stop string or a partial
  // character) go with the next chunk that carries text, or with the choice's last one.
  const pending = Array.from({ length: opts.n }, (): TokenLogprob[] => []);
  const offsets = new Array<number>(opts.n).fill(prefixText.length);
  const delta = (index: number, chunkText: string) => {
    let logprobs: unknown = null;
    if (text) {
      logprobs = format.logprobs(pending[index], text, offsets[index]);
      offsets[index] += pending[index].reduce((n, lp) => n + text(lp.token).token.length, 0);
      pending[index] = [];
    }
    sse.send(format.chunk(base, chunkText, !started[index], index, logprobs));
    started[index] = true;
  };
  try {
    if (prefixText) for (let i = 0; i < opts.n; i++) delta(i, prefixText);
    for await (const { index, event: e } of events) {
      if (sse.closed) break;
      if (e.type === 'delta') {
        if (e.logprobs) pending[index].push(...e.logprobs);
        if (e.text) delta(index, e.text);
      } else if (e.finishReason === 'abort') {
        break;
      } else {
        usages[index] = e.usage;
        if (!started[index] || pending[index].length > 0) delta(index, '');
        const last = usages.filter(Boolean).length === opts.n;
        const usage = last ? toUsage(choicesUsage(usages)) : null;
        sse.send(format.finishChunk(base, e.finishReason, opts.includeUsage ? null : usage, index));
        if (last) {
          if (opts.includeUsage) sse.send(format.usageChunk(base, usage!));
          sse.end(true);
          return;
        }
      }
    }
    sse.end(false);
  } catch (e) {
    // Headers are out: report the error as one event (OpenAI clients raise it), then close.
    sse.send(errorBody(reportError(e, ctx.id, ctx.log, ctx.metrics), ctx.id));
    sse.end(false);
  }
}

async function collect(
  ctx: RequestContext, events: AsyncIterable<ChoiceEvent>, n: number, format: ResponseFormat, base: Base, prefixText: string,
  text: TokenText | undefined,
): Promise<void> {
  const texts = new Array<string>(n).fill(prefixText);
  const logprobs = Array.from({ length: n }, (): TokenLogprob[] => []);
  const choices: { text: string; reason: ChoiceFinishReason; logprobs: unknown }[] = [];
  const usages: TokenUsage[] = [];
  for await (const { index, event: e } of events) {
    if (e.type === 'delta') {
      texts[index] += e.text;
      if (e.logprobs) logprobs[index].push(...e.logprobs);
    } else if (e.finishReason === 'abort') {
      break;
    } else {
      choices[index] = { text: texts[index], reason: e.finishReason, logprobs: text ? format.logprobs(logprobs[index], text, prefixText.length) : null };
      usages[index] = e.usage;
      if (usages.filter(Boolean).length === n) {
        sendJson(ctx.res, 200, format.full(base, choices, toUsage(choicesUsage(usages))));
        return;
      }
    }
  }
  // Aborted (the client is gone): nothing to answer.
  if (!ctx.res.destroyed) ctx.res.destroy();
}
