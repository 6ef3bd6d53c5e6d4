// Runs one generation request for either OpenAI endpoint: submits it to the batch, streams
// deltas as server-sent events or collects them, and cancels it when the client goes away.
import { randomBytes } from 'node:crypto';
import type { GenerationEvent } from '../../../batching/generation-stream';
import type { TokenUsage } from '../../../batching/request-types';
import type { ChoiceFinishReason, Usage } from '../../../shared/protocol';
import type { RequestContext } from '../context';
import { errorBody, reportError, sendJson } from '../errors';
import type { CommonOptions } from '../requests';
import type { FittedPrompt } from '../prompt';
import type { InferenceService } from '../service';
import { SseStream } from '../sse';
import { dropTypedStart } from '../../fim';

/** How one endpoint shapes its chunks and its final response. */
export interface ResponseFormat {
  idPrefix: string;
  /** A streamed chunk carrying a text delta (first = the first chunk of the stream). */
  chunk(base: Base, text: string, first: boolean): unknown;
  /** The streamed chunk carrying the finish reason (usage: null when a usage chunk follows). */
  finishChunk(base: Base, reason: ChoiceFinishReason, usage: Usage | null): unknown;
  /** The usage-only chunk of `stream_options.include_usage`. */
  usageChunk(base: Base, usage: Usage): unknown;
  /** The whole response without `stream`. */
  full(base: Base, text: string, reason: ChoiceFinishReason, usage: Usage): unknown;
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

export async function runGeneration(
  ctx: RequestContext, service: InferenceService, opts: CommonOptions, prompt: FittedPrompt,
  format: ResponseFormat, prefixText = '',
): Promise<void> {
  const { res, metrics } = ctx;
  const abort = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) {
      metrics.aborted += 1;
      abort.abort();
    }
  };
  res.on('close', onClose);
  // The client may have left while the body was read and the prompt tokenized.
  if (res.destroyed || ctx.req.socket.destroyed) onClose();
  const base: Base = {
    id: `${format.idPrefix}-${randomBytes(12).toString('hex')}`,
    created: Math.floor(Date.now() / 1000),
    model: service.model.id,
  };
  // Submitting throws at once when the queue is full, before any header is written.
  const generated = service.generate({
    id: ctx.id,
    promptTokens: prompt.tokens,
    maxTokens: prompt.maxTokens,
    sampling: opts.sampling,
    stop: opts.stop,
    priority: opts.priority,
    ignoreEos: opts.ignoreEos,
    fim: prompt.fim,
    speculative: opts.speculative,
    ...(opts.prediction ? { prediction: opts.prediction } : {}),
  }, abort.signal);
  const events = prompt.typedBlanks ? dropTypedStart(generated, prompt.typedBlanks) : generated;
  try {
    if (opts.stream) await stream(ctx, events, opts, format, base, prefixText);
    else await collect(ctx, events, format, base, prefixText);
  } finally {
    res.off('close', onClose);
    metrics.duration.observe((performance.now() - ctx.arrived) / 1000);
  }
}

async function stream(
  ctx: RequestContext, events: AsyncIterable<GenerationEvent>, opts: CommonOptions,
  format: ResponseFormat, base: Base, prefixText: string,
): Promise<void> {
  const sse = new SseStream(ctx.res);
  let first = true;
  const delta = (text: string) => {
    sse.send(format.chunk(base, text, first));
    first = false;
  };
  try {
    if (prefixText) delta(prefixText);
    for await (const e of events) {
      if (sse.closed) break;
      if (e.type === 'delta') {
        if (e.text) delta(e.text);
      } else if (e.finishReason === 'abort') {
        break;
      } else {
        const usage = toUsage(e.usage);
        if (first) sse.send(format.chunk(base, '', true));
        sse.send(format.finishChunk(base, e.finishReason, opts.includeUsage ? null : usage));
        if (opts.includeUsage) sse.send(format.usageChunk(base, usage));
        sse.end(true);
        return;
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
  ctx: RequestContext, events: AsyncIterable<GenerationEvent>, format: ResponseFormat, base: Base, prefixText: string,
): Promise<void> {
  let text = prefixText;
  for await (const e of events) {
    if (e.type === 'delta') {
      text += e.text;
    } else if (e.finishReason === 'abort') {
      break;
    } else {
      sendJson(ctx.res, 200, format.full(base, text, e.finishReason, toUsage(e.usage)));
      return;
    }
  }
  // Aborted (the client is gone): nothing to answer.
  if (!ctx.res.destroyed) ctx.res.destroy();
}
