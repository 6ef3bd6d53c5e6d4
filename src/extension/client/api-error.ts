// Errors of the HTTP client, each with a message a user can act on.
import type { ErrorType } from '../../shared/errors';

export class ApiError extends Error {
  constructor(
    message: string,
    /** HTTP status, or 0 when the server could not be reached. */
    readonly status: number,
    /** The server's OpenAI-style error type, or 'network' / 'protocol'. */
    readonly type: ErrorType | 'network' | 'protocol' | string,
    readonly param: string | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** True for an abort we asked for (AbortController), which is never shown as an error. */
export function isAbort(e: unknown): boolean {
  return e instanceof Error && (e.name === 'AbortError' || (e as { code?: string }).code === 'ABORT_ERR');
}

/** The status and body of a failed response as an ApiError, with the server's message when it sent one. */
export function errorFromResponse(status: number, bodyText: string, url: string, authHint = 'Set it with "MLX Batch: Set Remote API Key".'): ApiError {
  let message = '';
  let type = `http_${status}`;
  let param: string | null = null;
  try {
    const body = JSON.parse(bodyText) as { error?: { message?: unknown; type?: unknown; param?: unknown } | string; detail?: unknown; message?: unknown };
    if (typeof body.error === 'object' && body.error) {
      if (typeof body.error.message === 'string') message = body.error.message;
      if (typeof body.error.type === 'string') type = body.error.type;
      if (typeof body.error.param === 'string') param = body.error.param;
    } else if (typeof body.error === 'string') {
      message = body.error;
    } else if (typeof body.detail === 'string') {
      message = body.detail;
    } else if (typeof body.message === 'string') {
      message = body.message;
    }
  } catch {
    message = bodyText.trim().slice(0, 300);
  }
  if (status === 401) {
    return new ApiError(`${url} refused the API key (401)${message ? `: ${message}` : ''}. ${authHint}`, status, 'authentication', param);
  }
  if (status === 404 && !message) message = 'not found: is this an OpenAI-compatible server?';
  if (status === 503 && !message) message = 'the server is not ready (model loading or shutting down)';
  return new ApiError(`${message || `HTTP ${status}`} (${status} from ${url})`, status, type, param);
}

/** A fetch failure (no answer at all) as an ApiError naming the address. */
export function networkError(e: unknown, baseUrl: string): ApiError {
  const cause = (e as { cause?: { code?: string; message?: string } })?.cause;
  const code = cause?.code ?? '';
  const detail = code === 'ECONNREFUSED' ? 'connection refused: is the server running?'
    : code === 'ENOTFOUND' ? 'host not found'
    : code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' ? 'the connection was closed by the server'
    : cause?.message || (e as Error)?.message || String(e);
  return new ApiError(`cannot reach ${baseUrl}: ${detail}`, 0, 'network');
}

/** A message for any error, for notifications and the chat view. */
export function describeError(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}
