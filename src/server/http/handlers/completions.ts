// POST /v1/completions: plain and fill-in-the-middle (`suffix`) completions.
import type { ChoiceFinishReason, CompletionLogprobs, CompletionResponse, Usage } from '../../../shared/protocol';
import type { Handler } from '../context';
import { readJson } from '../body';
import { completionLogprobs } from '../logprobs';
import { completionPrompt } from '../prompt';
import { parseCompletion } from '../requests';
import { runGeneration, type Base, type ResponseFormat } from './generation';

type Choice = { text: string; reason: ChoiceFinishReason | null; index: number; logprobs?: unknown };

const completion = (base: Base, choices: Choice[], usage?: Usage | null): CompletionResponse => ({
  ...base,
  object: 'text_completion',
  choices: choices.map((c) => ({ index: c.index, text: c.text, finish_reason: c.reason, logprobs: (c.logprobs ?? null) as CompletionLogprobs | null })),
  ...(usage !== undefined ? { usage } : {}),
});

const FORMAT: ResponseFormat = {
  idPrefix: 'cmpl',
  chunk: (base, text, _first, index, logprobs) => completion(base, [{ text, reason: null, index, logprobs }]),
  finishChunk: (base, reason, usage, index) => completion(base, [{ text: '', reason, index }], usage),
  usageChunk: (base, usage) => ({ ...base, object: 'text_completion', choices: [], usage }),
  full: (base, choices, usage) => completion(base, choices.map((c, index) => ({ ...c, index })), usage),
  logprobs: completionLogprobs,
};

export const completionsHandler: Handler = async (ctx) => {
  const service = ctx.state.requireService();
  const body = await readJson(ctx.req, ctx.options.bodyLimit);
  const opts = parseCompletion(body, ctx.req, service.model);
  const prompt = completionPrompt(service, opts.prompt, opts.suffix, opts.maxTokens, opts.truncateLeft, ctx.options.defaultCompletionTokens, { chunks: opts.extra });
  await runGeneration(ctx, service, opts, prompt, FORMAT, opts.echo ? opts.prompt : '');
};
