// OpenAI-style error responses. Any thrown value becomes `{error: {message, type, param, code}}`
// with the status its type picks; an unexpected error is logged in full and answered as a 500
// that names the request id.
import type { ServerResponse } from 'node:http';
import { MlxBatchError, toMlxBatchError, type ErrorType } from '../../shared/errors';
import type { ErrorBody } from '../../shared/protocol';
import type { Logger } from './context';
import type { HttpMetrics } from './metrics';

/**
 * The HTTP layer's one path from a thrown value to the error it answers with: converted once,
 * counted by type, and an internal error logged with its original message and stack (`what`
 * names the work in the log line, e.g. "POST /v1/completions").
 */
export function reportError(e: unknown, requestId: string, log: Logger, metrics: Pick<HttpMetrics, 'error'>, what?: string): MlxBatchError {
  const err = toMlxBatchError(e);
  metrics.error(err.type);
  if (err.type === 'internal') log.error(`[${requestId}] ${what ? `${what}: ` : ''}${err.stack ?? err.message}`);
  return err;
}

export function errorBody(e: MlxBatchError, requestId?: string): ErrorBody {
  const text = e.unexpected ? 'internal server error' : e.message;
  const message = e.type === 'internal' && requestId ? `${text} (request ${requestId})` : text;
  return { error: { message, type: e.type, param: e.param ?? null, code: e.type } };
}

/** Headers a response of this error type carries besides its JSON body. */
export function errorHeaders(type: ErrorType): Record<string, string> {
  if (type === 'overloaded') return { 'retry-after': '1' };
  if (type === 'unavailable') return { 'retry-after': '2' };
  if (type === 'authentication') return { 'www-authenticate': 'Bearer' };
  return {};
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, e: MlxBatchError, requestId?: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, e.status, errorBody(e, requestId), errorHeaders(e.type));
}
