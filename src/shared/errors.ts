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
  constructor(
    readonly type: ErrorType,
    message: string,
    /** The request field or file at fault, when there is one. */
    readonly param?: string,
  ) {
    super(message);
    this.name = 'MlxBatchError';
  }

  get status(): number {
    return STATUS[this.type];
  }
}

export function httpStatus(type: ErrorType): number {
  return STATUS[type];
}
