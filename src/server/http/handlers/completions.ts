// POST /v1/completions: plain and fill-in-the-middle (`suffix`) completions.
import type { ChoiceFinishReason, CompletionResponse, Usage } from '../../../shared/protocol';
import type { Handler } from '../context';
import { readJson } from '../body';
import { completionPrompt } from '../prompt';
import { parseCompletion } from '../requests';
import { runGeneration, type Base, type ResponseFormat } from './generation';

const completion = (base: Base, choices: { text: string; reason: ChoiceFinishReason | null; index: number }[], usage?: Usage | null): CompletionResponse => ({
  ...base,
  object: 'text_completion',
  choices: choices.map((c) => ({ index: c.index, text: c.text, finish_reason: c.reason, logprobs: null })),
  ...(usage !== undefined ? { usage } : {}),
});

const FORMAT: ResponseFormat = {
  idPrefix: 'cmpl',
  chunk: (base, text, _first, index) => completion(base, [{ text, reason: null, index }]),
  finishChunk: (base, reason, usage, index) => completion(base, [{ text: '', reason, index }], usage),
  usageChunk: (base, usage) => ({ ...base, object: 'text_completion', choices: [], usage }),
  full: (base, choices, usage) => completion(base, choices.map((c, index) => ({ ...c, index })), usage),
};

export const completionsHandler: Handler = async (ctx) => {
  const service = ctx.state.requireService();
  const body = await readJson(ctx.req, ctx.options.bodyLimit);
  const opts = parseCompletion(body, ctx.req, service.model);
  const prompt = completionPrompt(service, opts.prompt, opts.suffix, opts.maxTokens, opts.truncateLeft, ctx.options.defaultCompletionTokens);
  await runGeneration(ctx, service, opts, prompt, FORMAT, opts.echo ? opts.prompt : '');
};
