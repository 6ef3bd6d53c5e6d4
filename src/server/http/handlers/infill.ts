// POST /infill, llama.cpp server's fill-in-the-middle endpoint, so llama.vscode and other
// llama.cpp clients work against this server: prefix, suffix and other files' pieces in, the
// answer in llama.cpp's shape (content, stop_type, token counts, timings) out, whole or streamed.
// `n_predict: 0` computes the prompt only, at background priority: the prefix store then serves
// it to the completions that start the same way.
import type { GenerationEvent } from '../../../batching/generation-stream';
import type { TokenUsage } from '../../../batching/request-types';
import { MlxBatchError } from '../../../shared/errors';
import type { InfillResponse } from '../../../shared/protocol';
import type { Handler } from '../context';
import { readJson } from '../body';
import { errorBody, reportError, sendJson } from '../errors';
import { dropTypedStart, indentCut } from '../../fim';
import { parseInfill, type InfillOptions } from '../infill-request';
import { completionPrompt, type FittedPrompt } from '../prompt';
import { SseStream } from '../sse';
import { abortOnClientClose } from './generation';

type StopType = InfillResponse['stop_type'];

/** What the answer has come to so far. */
interface Progress {
  content: string;
  predicted: number;
  stopType: StopType;
  stoppingWord: string;
  usage?: TokenUsage;
  /** ms from arrival to the first token (or to the end, when nothing was generated). */
  promptMs?: number;
  endMs?: number;
}

export const infillHandler: Handler = async (ctx) => {
  const service = ctx.state.requireService();
  const body = await readJson(ctx.req, ctx.options.bodyLimit);
  const opts = parseInfill(body, ctx.req, service.model);
  // llama.cpp always fits an infill prompt: other files' pieces give way first, then the far ends.
  const prompt = infillPrompt(() => completionPrompt(service, opts.prefix, opts.suffix, opts.maxTokens, true, service.model.contextLength, { chunks: opts.extra }));
  const abort = new AbortController();
  const detach = abortOnClientClose(ctx, abort);
  try {
    const events = service.generate({
      id: ctx.id, promptTokens: prompt.tokens, maxTokens: prompt.maxTokens, sampling: opts.sampling, stop: opts.stop,
      priority: opts.priority, ignoreEos: false, fim: true, speculative: true,
    }, abort.signal);
    const healed = prompt.typedBlanks ? dropTypedStart(events, prompt.typedBlanks) : events;
    const response = (p: Progress, stop: boolean, content = p.content) => infillResponse(service.model.id, prompt, p, stop, content);
    if (opts.stream) {
      const sse = new SseStream(ctx.res);
      try {
        const p = await consume(healed, opts, abort, (delta, progress) => sse.send(response(progress, false, delta)));
        if (p) sse.send(response(p, true, ''));
      } catch (e) {
        sse.send(errorBody(reportError(e, ctx.id, ctx.log, ctx.metrics), ctx.id));
      }
      sse.end(false);
    } else {
      const p = await consume(healed, opts, abort, () => undefined);
      if (p) sendJson(ctx.res, 200, response(p, true));
      else if (!ctx.res.destroyed) ctx.res.destroy();
    }
  } finally {
    abort.abort();
    detach();
    ctx.metrics.duration.observe((performance.now() - ctx.arrived) / 1000);
  }

  /** Reads the events to the end; undefined when the client went away. */
  async function consume(
    events: AsyncIterable<GenerationEvent>, o: InfillOptions, ac: AbortController, onDelta: (text: string, p: Progress) => void,
  ): Promise<Progress | undefined> {
    const p: Progress = { content: '', predicted: 0, stopType: 'none', stoppingWord: '' };
    let limited = false;
    let firstAt: number | undefined;
    for await (const e of events) {
      if (e.type === 'delta') {
        if (limited) continue;
        firstAt ??= performance.now();
        p.promptMs ??= firstAt - ctx.arrived;
        p.predicted += e.tokens.length;
        let text = e.text;
        const cut = indentCut(p.content + text, o.indent);
        if (cut !== undefined) {
          text = text.slice(0, cut - p.content.length);
          limited = true;
        }
        p.content += text;
        if (text) onDelta(text, p);
        // A time limit ends generation at a new line, never inside one (llama.cpp's t_max_predict_ms).
        if (o.maxPredictMs > 0 && p.content.includes('\n') && performance.now() - firstAt > o.maxPredictMs) limited = true;
        if (limited) ac.abort();
      } else {
        if (e.finishReason === 'abort' && !limited) return undefined;
        p.usage = e.usage;
        p.endMs = performance.now() - ctx.arrived;
        p.promptMs ??= p.endMs;
        p.stopType = limited || e.finishReason === 'length' ? 'limit' : e.stopString !== undefined ? 'word' : 'eos';
        p.stoppingWord = e.stopString ?? '';
      }
    }
    return p;
  }
};

/** The prompt, with a model's refusal of FIM named by this endpoint's field (`input_suffix`, not `suffix`). */
function infillPrompt(build: () => FittedPrompt): FittedPrompt {
  try {
    return build();
  } catch (e) {
    if (e instanceof MlxBatchError && e.type === 'unsupported_feature' && e.param === 'suffix') throw new MlxBatchError('unsupported_feature', e.message, 'input_suffix');
    throw e;
  }
}

function infillResponse(model: string, prompt: FittedPrompt, p: Progress, stop: boolean, content: string): InfillResponse {
  const evaluated = prompt.tokens.length;
  const cached = p.usage?.cachedTokens ?? 0;
  const promptMs = p.promptMs ?? 0;
  const predictedMs = Math.max(0, (p.endMs ?? promptMs) - promptMs);
  const computed = evaluated - cached;
  return {
    index: 0,
    content,
    id_slot: 0,
    stop,
    stop_type: stop ? p.stopType : 'none',
    stopping_word: stop ? p.stoppingWord : '',
    has_new_line: p.content.includes('\n'),
    model,
    tokens_predicted: p.predicted,
    tokens_evaluated: evaluated,
    tokens_cached: cached,
    truncated: prompt.truncated,
    timings: {
      prompt_n: computed,
      prompt_ms: round(promptMs),
      prompt_per_token_ms: computed > 0 ? round(promptMs / computed) : 0,
      prompt_per_second: promptMs > 0 ? round((computed * 1000) / promptMs) : 0,
      predicted_n: p.predicted,
      predicted_ms: round(predictedMs),
      predicted_per_token_ms: p.predicted > 0 ? round(predictedMs / p.predicted) : 0,
      predicted_per_second: predictedMs > 0 ? round((p.predicted * 1000) / predictedMs) : 0,
    },
  };
}

const round = (x: number) => Math.round(x * 1000) / 1000;
