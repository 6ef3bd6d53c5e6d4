// Reads a JSON request body under a size limit: 413 past the limit, 400 for anything that is
// not one JSON object.
import type { IncomingMessage } from 'node:http';
import { MlxBatchError } from '../../shared/errors';

export const DEFAULT_BODY_LIMIT = 1 << 20;

export async function readJson(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const type = req.headers['content-type'];
  if (type !== undefined && !/^application\/json\b/i.test(type)) {
    throw new MlxBatchError('validation', `Content-Type must be application/json (got "${type}")`);
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) throw tooLarge(limit);
      chunks.push(chunk);
    }
  } catch (e) {
    if (e instanceof MlxBatchError) throw e;
    throw new MlxBatchError('validation', `the request body was cut off (${(e as Error).message})`);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw new MlxBatchError('validation', 'request body is empty: send a JSON object');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new MlxBatchError('validation', `request body is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new MlxBatchError('validation', 'request body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

function tooLarge(limit: number): MlxBatchError {
  return new MlxBatchError('payload_too_large', `request body is larger than ${limit} bytes`);
}
