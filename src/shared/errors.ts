// Typed errors with stable type strings. The type picks the HTTP status and is what metrics
// count (as in TGI's InferError); the message is written for the person who reads it.

export type ErrorType =
  // model folder and files
  | 'model_not_found'
  | 'invalid_config'
  | 'unsupported_model'
  | 'missing_tensors'
  | 'unexpected_tensors'
  | 'shape_mismatch'
  | 'corrupt_weights'
  | 'tokenizer_missing'
  | 'invalid_tokenizer'
  /** The weights plus the KV cache need more memory than the machine has available. */
  | 'insufficient_memory'
  /** node-mlx's native module does not load here: a binary of another platform, or a missing system library. */
  | 'mlx_unavailable'
  // requests
  | 'validation'
  | 'context_length_exceeded'
  | 'unsupported_feature'
  | 'authentication'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'payload_too_large'
  | 'overloaded'
  | 'unavailable'
  | 'internal';

const STATUS: Record<ErrorType, number> = {
  model_not_found: 404,
  invalid_config: 500,
  unsupported_model: 500,
  missing_tensors: 500,
  unexpected_tensors: 500,
  shape_mismatch: 500,
  corrupt_weights: 500,
  tokenizer_missing: 500,
  invalid_tokenizer: 500,
  insufficient_memory: 500,
  mlx_unavailable: 500,
  validation: 400,
  context_length_exceeded: 400,
  unsupported_feature: 400,
  authentication: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  payload_too_large: 413,
  overloaded: 429,
  unavailable: 503,
  internal: 500,
};

export class MlxBatchError extends Error {
  /**
   * Set on an internal error that wraps something thrown with no word for the reader (a bug):
   * its message and stack are for the log, and an HTTP answer says only "internal server error".
   */
  readonly unexpected: boolean;

  constructor(
    readonly type: ErrorType,
    message: string,
    /** The request field or file at fault, when there is one. */
    readonly param?: string,
    options: { cause?: unknown; unexpected?: boolean } = {},
  ) {
    super(message, 'cause' in options ? { cause: options.cause } : undefined);
    this.name = 'MlxBatchError';
    this.unexpected = options.unexpected ?? false;
  }

  get status(): number {
    return STATUS[this.type];
  }
}

export function httpStatus(type: ErrorType): number {
  return STATUS[type];
}

/**
 * The one conversion of a thrown value to an MlxBatchError (as TGI's `From<InferError>`): an
 * MlxBatchError stays as it is; anything else becomes `internal`, keeping the original message
 * (after `context`, e.g. "The engine failed", when given) and stack, with the original as
 * `cause`. Without a context the error is `unexpected`: logged in full, answered generically.
 */
export function toMlxBatchError(e: unknown, context?: string): MlxBatchError {
  if (e instanceof MlxBatchError) return e;
  const original = e instanceof Error ? e.message : String(e);
  const message = context ? `${context}: ${original}` : original;
  const err = new MlxBatchError('internal', message, undefined, { cause: e, unexpected: context === undefined });
  if (e instanceof Error && e.stack) err.stack = context ? `${context}: ${e.stack}` : e.stack;
  return err;
}
