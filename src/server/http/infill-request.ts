// Turns a llama.cpp `/infill` body into validated options: the fields llama.vscode and other
// llama.cpp clients send, with llama.cpp's defaults, and the same clear 400s as the OpenAI
// endpoints for bad values.
import type { IncomingMessage } from 'node:http';
import { MlxBatchError } from '../../shared/errors';
import type { ExtraContextChunk, PriorityClass } from '../../shared/protocol';
import type { SamplingParams } from '../../batching/request-types';
import { describe, optBool, optInt, optNumber, optStop, optString } from './fields';
import { extraContextOf, penaltiesOf, priorityOf } from './requests';
import type { ModelInfo } from './service';

type Body = Record<string, unknown>;

const MAX_TEXT = 4 << 20;

/** llama.cpp's sampler names (`samplers`, as a list), and their one-letter spellings (as a string). */
const SAMPLERS: Record<string, string> = {
  dry: 'd', top_k: 'k', typ_p: 'y', typical_p: 'y', top_p: 'p', min_p: 'm', xtc: 'x', temperature: 't', infill: 'i', penalties: 'e', top_n_sigma: 's',
};
/** llama.cpp's default chain. */
const DEFAULT_SAMPLERS = 'edkypmxt';

export interface InfillOptions {
  prefix: string;
  suffix: string;
  extra: ExtraContextChunk[];
  /** undefined: up to the context (llama.cpp's -1); 0: compute the prompt only. */
  maxTokens: number | undefined;
  /** Stop at a new line indented less than this many columns (0: off). */
  indent: number;
  /** Stop at the next new line once generation has run this long (0: off). */
  maxPredictMs: number;
  sampling: SamplingParams;
  stop: string[];
  stream: boolean;
  priority: PriorityClass;
}

export function parseInfill(body: Body, req: IncomingMessage, model: ModelInfo): InfillOptions {
  const name = optString(body, 'model', 1024);
  if (name !== undefined && name !== model.id) {
    throw new MlxBatchError('model_not_found', `model "${name}" is not loaded; this server serves "${model.id}" (see GET /v1/models)`, 'model');
  }
  const text = (key: string) => optString(body, key, MAX_TEXT) ?? '';
  const nPredict = optInt(body, 'n_predict', -1, 1 << 30) ?? -1;
  // Accepted for llama.cpp's clients: one batch serves every request here (no slots), prompts are
  // always computed to the end, and prefix reuse never changes an answer.
  optInt(body, 'id_slot', -1, 1 << 20);
  optNumber(body, 't_max_prompt_ms', -1, Number.MAX_SAFE_INTEGER);
  optBool(body, 'cache_prompt');
  if (body.lora !== undefined && body.lora !== null && !(Array.isArray(body.lora) && body.lora.length === 0)) {
    throw new MlxBatchError('unsupported_feature', '"lora" adapters are not supported', 'lora');
  }
  const chain = samplersOf(body);
  const on = (letter: string) => chain.includes(letter);
  const temperature = optNumber(body, 'temperature', 0, 100) ?? 0.8;
  const topK = optInt(body, 'top_k', 0, 1 << 20) ?? 40;
  const topP = optNumber(body, 'top_p', 0, 1) ?? 0.95;
  const minP = optNumber(body, 'min_p', 0, 1) ?? 0.05;
  const seed = optInt(body, 'seed', -1, 0xffffffff);
  const penalties = on('e') ? penaltiesOf(body) : {};
  const sampling: SamplingParams = {
    // A sampler left out of the chain does nothing, as in llama.cpp (without `temperature` the draw is at 1).
    temperature: on('t') ? temperature : 1,
    topK: on('k') ? topK : 0,
    topP: on('p') && topP > 0 ? topP : 1,
    ...(on('m') && minP > 0 ? { minP } : {}),
    ...(seed !== undefined && seed !== -1 && seed !== 0xffffffff ? { seed } : {}),
    ...penalties,
  };
  return {
    prefix: text('input_prefix') + text('prompt'),
    suffix: text('input_suffix'),
    extra: extraContextOf(body),
    maxTokens: nPredict < 0 ? undefined : nPredict,
    indent: optInt(body, 'n_indent', 0, 1 << 16) ?? 0,
    maxPredictMs: Math.max(0, optNumber(body, 't_max_predict_ms', -1, Number.MAX_SAFE_INTEGER) ?? 0),
    sampling,
    stop: optStop(body, 'stop', 16),
    stream: optBool(body, 'stream') ?? false,
    // A completion the user waits for, unless it only warms the cache.
    priority: priorityOf(body, req, nPredict === 0 ? 'background' : 'interactive'),
  };
}

/** `samplers`: a list of names or a string of letters (llama.cpp's two forms); the letters of the chain. */
function samplersOf(body: Body): string {
  const v = body.samplers;
  if (v === undefined || v === null) return DEFAULT_SAMPLERS;
  const known = Object.keys(SAMPLERS).map((s) => `"${s}"`).join(', ');
  if (typeof v === 'string') {
    const bad = [...v].find((c) => !Object.values(SAMPLERS).includes(c));
    if (bad !== undefined) throw new MlxBatchError('validation', `"samplers" has the unknown letter "${bad}" (known: ${[...new Set(Object.values(SAMPLERS))].join('')})`, 'samplers');
    return v;
  }
  if (!Array.isArray(v)) throw new MlxBatchError('validation', `"samplers" must be a list of sampler names or a string of letters (got ${describe(v)})`, 'samplers');
  return v.map((s) => {
    if (typeof s !== 'string' || !(s in SAMPLERS)) throw new MlxBatchError('validation', `"samplers" has ${describe(s)}: the names are ${known}`, 'samplers');
    return SAMPLERS[s];
  }).join('');
}
