// OpenAI-style error responses. Any thrown value becomes `{error: {message, type, param, code}}`
// with the status its type picks; unexpected errors become a 500 that names the request id.
import type { ServerResponse } from 'node:http';
import { MlxBatchError, type ErrorType } from '../../shared/errors';
import type { ErrorBody } from '../../shared/protocol';

export function toMlxError(e: unknown): MlxBatchError {
  if (e instanceof MlxBatchError) return e;
  return new MlxBatchError('internal', 'internal server error');
}

export function errorBody(e: MlxBatchError, requestId?: string): ErrorBody {
  const message = e.type === 'internal' && requestId ? `${e.message} (request ${requestId})` : e.message;
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
