// Turns an OpenAI request body into validated generation options. Prompt tokens and the
// context check come later (prompt.ts), once the model's tokenizer has seen the prompt.
import type { IncomingMessage } from 'node:http';
import { MlxBatchError } from '../../shared/errors';
import { PRIORITY_CLASSES, PRIORITY_HEADER, type ChatMessage, type ExtraContextChunk, type PriorityClass } from '../../shared/protocol';
import type { SamplingParams } from '../../batching/request-types';
import { optBool, optEnum, optInt, optNumber, optObject, optStop, optString, describe } from './fields';
import type { ModelInfo } from './service';

type Body = Record<string, unknown>;

/** Longest prompt or message text accepted, in characters (the body limit bounds it too). */
const MAX_TEXT = 4 << 20;
const MAX_MESSAGES = 1024;
/** Most pieces of extra context one FIM request may carry. */
const MAX_EXTRA_CHUNKS = 256;
/** Most alternatives per token a request may ask for in logprobs (OpenAI's chat limit). */
export const MAX_TOP_LOGPROBS = 20;
/** Most choices (`n`) one request may ask for: each is a row of the batch. */
export const MAX_CHOICES = 16;

export interface CommonOptions {
  sampling: SamplingParams;
  /** As asked; undefined means the endpoint's default. */
  maxTokens: number | undefined;
  stop: string[];
  stream: boolean;
  includeUsage: boolean;
  priority: PriorityClass;
  truncateLeft: boolean;
  ignoreEos: boolean;
  /** Speculative decoding for this request (`"speculative": false` opts out). */
  speculative: boolean;
  /** OpenAI's predicted output (`prediction: {type: "content", content}`): drafts are copied from it. */
  prediction: string | undefined;
  /** Choices to generate from the one prompt. */
  n: number;
}

export interface CompletionOptions extends CommonOptions {
  prompt: string;
  suffix: string | undefined;
  /** Pieces of other files before a FIM prompt (`input_extra`). */
  extra: ExtraContextChunk[];
  echo: boolean;
}

export interface ChatOptions extends CommonOptions {
  messages: ChatMessage[];
}

const ROLES = ['system', 'user', 'assistant', 'tool'] as const;

export function parseCommon(body: Body, req: IncomingMessage, model: ModelInfo): CommonOptions {
  const name = optString(body, 'model', 1024);
  if (name !== undefined && name !== model.id) {
    throw new MlxBatchError('model_not_found', `model "${name}" is not loaded; this server serves "${model.id}" (see GET /v1/models)`, 'model');
  }
  const n = optInt(body, 'n', 1, MAX_CHOICES) ?? 1;
  if (present(body.best_of) && body.best_of !== 1) throw new MlxBatchError('unsupported_feature', '"best_of" must be 1', 'best_of');
  optString(body, 'user', 1024);

  const maxCompletionTokens = optInt(body, 'max_completion_tokens', 1, 1 << 30);
  const maxTokens = optInt(body, 'max_tokens', 1, 1 << 30) ?? maxCompletionTokens;
  const temperature = optNumber(body, 'temperature', 0, 2) ?? 1;
  const topP = optNumber(body, 'top_p', 0, 1) ?? 1;
  if (topP === 0) throw new MlxBatchError('validation', '"top_p" must be greater than 0', 'top_p');
  const topK = optInt(body, 'top_k', 0, 1 << 20) ?? 0;
  const seed = optInt(body, 'seed', -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  const penalties = penaltiesOf(body);
  const stream = optBool(body, 'stream') ?? false;
  const streamOptions = optObject(body, 'stream_options');
  const includeUsage = streamOptions ? optBool(streamOptions, 'include_usage', 'stream_options.include_usage') ?? false : false;
  if (streamOptions && !stream) throw new MlxBatchError('validation', '"stream_options" is only allowed with "stream": true', 'stream_options');
  const truncate = optEnum(body, 'truncate_prompt', ['left', 'none'] as const) ?? 'none';
  return {
    sampling: { temperature, topP, topK, ...(seed !== undefined ? { seed } : {}), ...penalties },
    maxTokens,
    stop: optStop(body, 'stop'),
    stream,
    includeUsage,
    priority: priorityOf(body, req),
    truncateLeft: truncate === 'left',
    ignoreEos: optBool(body, 'ignore_eos') ?? false,
    speculative: optBool(body, 'speculative') ?? true,
    prediction: predictionOf(body),
    n,
  };
}

/** `prediction: {type: "content", content: string | [{type: "text", text}]}` as text. */
function predictionOf(body: Body): string | undefined {
  const p = optObject(body, 'prediction');
  if (!p) return undefined;
  if (p.type !== 'content') throw new MlxBatchError('validation', '"prediction.type" must be "content"', 'prediction.type');
  const content = p.content;
  if (typeof content === 'string') {
    if (content.length > MAX_TEXT) throw new MlxBatchError('validation', `"prediction.content" is longer than ${MAX_TEXT} characters`, 'prediction.content');
    return content;
  }
  if (Array.isArray(content) && content.every((c) => typeof c === 'object' && c !== null && (c as Body).type === 'text' && typeof (c as Body).text === 'string')) {
    const text = content.map((c) => (c as { text: string }).text).join('');
    if (text.length > MAX_TEXT) throw new MlxBatchError('validation', `"prediction.content" is longer than ${MAX_TEXT} characters`, 'prediction.content');
    return text;
  }
  throw new MlxBatchError('validation', '"prediction.content" must be a string or an array of {"type": "text", "text": string} parts', 'prediction.content');
}

/**
 * min_p, OpenAI's presence_penalty and frequency_penalty, and the repetition penalty in vLLM's
 * (`repetition_penalty`) or llama.cpp's spelling (`repeat_penalty`, with `repeat_last_n`).
 */
export function penaltiesOf(body: Body): Partial<SamplingParams> {
  const out: Partial<SamplingParams> = {};
  const minP = optNumber(body, 'min_p', 0, 1);
  if (minP) out.minP = minP;
  const presence = optNumber(body, 'presence_penalty', -2, 2);
  if (presence) out.presencePenalty = presence;
  const frequency = optNumber(body, 'frequency_penalty', -2, 2);
  if (frequency) out.frequencyPenalty = frequency;
  if (present(body.repetition_penalty) && present(body.repeat_penalty)) {
    throw new MlxBatchError('validation', 'send "repetition_penalty" or "repeat_penalty", not both', 'repeat_penalty');
  }
  const key = present(body.repeat_penalty) ? 'repeat_penalty' : 'repetition_penalty';
  const repetition = optNumber(body, key, 0, 10);
  if (repetition === 0) throw new MlxBatchError('validation', `"${key}" must be greater than 0`, key);
  if (repetition !== undefined && repetition !== 1) out.repetitionPenalty = repetition;
  const window = optInt(body, 'repeat_last_n', -1, 1 << 20);
  if (window !== undefined) out.repetitionWindow = window;
  return out;
}

/** Header `x-mlx-batch-priority` wins over the body field; default `fallback` (`normal`). */
export function priorityOf(body: Body, req: IncomingMessage, fallback: PriorityClass = 'normal'): PriorityClass {
  const header = req.headers[PRIORITY_HEADER];
  if (header !== undefined) {
    const v = Array.isArray(header) ? header[0] : header;
    if (!(PRIORITY_CLASSES as readonly string[]).includes(v)) {
      throw new MlxBatchError('validation', `header ${PRIORITY_HEADER} must be one of ${PRIORITY_CLASSES.join(', ')} (got "${v}")`, PRIORITY_HEADER);
    }
    return v as PriorityClass;
  }
  return optEnum(body, 'priority', PRIORITY_CLASSES) ?? fallback;
}

export function parseCompletion(body: Body, req: IncomingMessage, model: ModelInfo): CompletionOptions {
  const common = parseCommon(body, req, model);
  let prompt = body.prompt;
  if (Array.isArray(prompt)) {
    if (prompt.length !== 1) throw new MlxBatchError('unsupported_feature', '"prompt" must be one string (batches of prompts are not supported: send one request each)', 'prompt');
    prompt = prompt[0];
  }
  if (typeof prompt !== 'string') throw new MlxBatchError('validation', `"prompt" must be a string (got ${prompt === undefined ? 'nothing' : describe(prompt)})`, 'prompt');
  if (prompt.length > MAX_TEXT) throw new MlxBatchError('validation', `"prompt" is longer than ${MAX_TEXT} characters`, 'prompt');
  const suffix = optString(body, 'suffix', MAX_TEXT);
  const echo = optBool(body, 'echo') ?? false;
  if (echo && suffix !== undefined) throw new MlxBatchError('unsupported_feature', '"echo" cannot be combined with "suffix"', 'echo');
  if (prompt === '' && !suffix) throw new MlxBatchError('validation', '"prompt" must not be empty', 'prompt');
  // The legacy endpoint's `logprobs` is the number of alternatives; chat's top_logprobs is not its field.
  if (present(body.top_logprobs)) throw new MlxBatchError('validation', '"top_logprobs" is a chat field: /v1/completions takes "logprobs": <alternatives>', 'top_logprobs');
  // `false` reads as none, as chat's switch does (clients built for both endpoints send it).
  const logprobs = body.logprobs === false ? undefined : optInt(body, 'logprobs', 0, MAX_TOP_LOGPROBS);
  if (logprobs !== undefined && echo) throw new MlxBatchError('unsupported_feature', '"logprobs" cannot be combined with "echo" (prompt tokens have no log-probabilities here)', 'logprobs');
  const extra = extraContextOf(body);
  if (extra.length > 0 && suffix === undefined) throw new MlxBatchError('validation', '"input_extra" is context for fill-in-the-middle: it needs "suffix"', 'input_extra');
  return { ...withLogprobs(common, logprobs), prompt, suffix: suffix === '' && extra.length === 0 ? undefined : suffix, extra, echo };
}

export function parseChat(body: Body, req: IncomingMessage, model: ModelInfo): ChatOptions {
  const common = parseCommon(body, req, model);
  const raw = body.messages;
  if (!Array.isArray(raw) || raw.length === 0) throw new MlxBatchError('validation', '"messages" must be a non-empty array', 'messages');
  if (raw.length > MAX_MESSAGES) throw new MlxBatchError('validation', `"messages" may hold at most ${MAX_MESSAGES} messages`, 'messages');
  const messages = raw.map((m: unknown, i): ChatMessage => {
    const param = `messages[${i}]`;
    if (typeof m !== 'object' || m === null || Array.isArray(m)) throw new MlxBatchError('validation', `"${param}" must be an object with "role" and "content"`, param);
    const msg = m as Body;
    const role = optEnum(msg, 'role', ROLES, `${param}.role`);
    if (role === undefined) throw new MlxBatchError('validation', `"${param}.role" is required`, `${param}.role`);
    return { role, content: contentText(msg.content, `${param}.content`) };
  });
  const logprobs = optBool(body, 'logprobs') ?? false;
  const top = optInt(body, 'top_logprobs', 0, MAX_TOP_LOGPROBS);
  if (top !== undefined && !logprobs) throw new MlxBatchError('validation', '"top_logprobs" needs "logprobs": true', 'top_logprobs');
  return { ...withLogprobs(common, logprobs ? top ?? 0 : undefined), messages };
}

/** The options with `alternatives` per token of logprobs asked for (undefined: none). */
function withLogprobs<T extends CommonOptions>(common: T, alternatives: number | undefined): T {
  return alternatives === undefined ? common : { ...common, sampling: { ...common.sampling, logprobs: alternatives } };
}

/**
 * `input_extra`: pieces of other files, `[{filename, text}]` as llama.cpp's server takes them (a
 * piece without a filename is named "tmp", as there).
 */
export function extraContextOf(body: Body): ExtraContextChunk[] {
  const raw = body.input_extra;
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new MlxBatchError('validation', `"input_extra" must be an array of {"filename", "text"} (got ${describe(raw)})`, 'input_extra');
  if (raw.length > MAX_EXTRA_CHUNKS) throw new MlxBatchError('validation', `"input_extra" may hold at most ${MAX_EXTRA_CHUNKS} pieces (got ${raw.length})`, 'input_extra');
  let total = 0;
  return raw.map((c: unknown, i) => {
    const param = `input_extra[${i}]`;
    if (typeof c !== 'object' || c === null || Array.isArray(c)) throw new MlxBatchError('validation', `"${param}" must be an object with "filename" and "text"`, param);
    const piece = c as Body;
    const text = piece.text;
    if (typeof text !== 'string') throw new MlxBatchError('validation', `"${param}.text" must be a string (got ${text === undefined ? 'nothing' : describe(text)})`, `${param}.text`);
    const filename = piece.filename ?? 'tmp';
    if (typeof filename !== 'string' || filename.length > 4096) throw new MlxBatchError('validation', `"${param}.filename" must be a string of at most 4096 characters`, `${param}.filename`);
    total += text.length;
    if (total > MAX_TEXT) throw new MlxBatchError('validation', `"input_extra" holds more than ${MAX_TEXT} characters`, 'input_extra');
    return { filename, text };
  });
}

/** Message content: a string, or OpenAI's array of `{type: 'text', text}` parts. */
function contentText(content: unknown, param: string): string {
  if (typeof content === 'string') {
    if (content.length > MAX_TEXT) throw new MlxBatchError('validation', `"${param}" is too long`, param);
    return content;
  }
  if (content === null || content === undefined) return '';
  if (Array.isArray(content)) {
    return content.map((part: unknown, i) => {
      const p = part as Body | null;
      if (typeof p !== 'object' || p === null || p.type !== 'text' || typeof p.text !== 'string') {
        throw new MlxBatchError('unsupported_feature', `"${param}[${i}]" must be {"type": "text", "text": ...}: only text content is supported`, `${param}[${i}]`);
      }
      return p.text;
    }).join('');
  }
  throw new MlxBatchError('validation', `"${param}" must be a string or an array of text parts (got ${describe(content)})`, param);
}

function present(v: unknown): boolean {
  return v !== undefined && v !== null;
}
