// POST /v1/chat/completions: messages rendered by the model's chat template.
import type { ChatCompletionChunk, ChatCompletionResponse, ChatLogprobs } from '../../../shared/protocol';
import type { Handler } from '../context';
import { readJson } from '../body';
import { chatLogprobs } from '../logprobs';
import { chatPrompt } from '../prompt';
import { parseChat } from '../requests';
import { runGeneration, type ResponseFormat } from './generation';

const FORMAT: ResponseFormat = {
  idPrefix: 'chatcmpl',
  chunk: (base, text, first, index, logprobs): ChatCompletionChunk => ({
    ...base,
    object: 'chat.completion.chunk',
    choices: [{ index, delta: first ? { role: 'assistant', content: text } : { content: text }, finish_reason: null, logprobs: logprobs as ChatLogprobs | null }],
  }),
  finishChunk: (base, reason, usage, index): ChatCompletionChunk => ({
    ...base,
    object: 'chat.completion.chunk',
    choices: [{ index, delta: {}, finish_reason: reason, logprobs: null }],
    usage,
  }),
  usageChunk: (base, usage): ChatCompletionChunk => ({ ...base, object: 'chat.completion.chunk', choices: [], usage }),
  full: (base, choices, usage): ChatCompletionResponse => ({
    ...base,
    object: 'chat.completion',
    choices: choices.map((c, index) => ({ index, message: { role: 'assistant', content: c.text }, finish_reason: c.reason, logprobs: c.logprobs as ChatLogprobs | null })),
    usage,
  }),
  logprobs: (list, text) => chatLogprobs(list, text),
};

export const chatHandler: Handler = async (ctx) => {
  const service = ctx.state.requireService();
  const body = await readJson(ctx.req, ctx.options.bodyLimit);
  const opts = parseChat(body, ctx.req, service.model);
  const prompt = chatPrompt(service, opts.messages, opts.maxTokens, opts.truncateLeft, Infinity);
  await runGeneration(ctx, service, opts, prompt, FORMAT);
};
