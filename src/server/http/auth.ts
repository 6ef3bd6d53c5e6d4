// Bearer-token check for every route when the server was started with a token file.
import { timingSafeEqual, createHash } from 'node:crypto';
import fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { MlxBatchError } from '../../shared/errors';

/** Reads a token file: its first line, trimmed; empty or unreadable files are an error. */
export function readTokenFile(file: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new MlxBatchError('validation', `cannot read token file ${file}: ${(e as Error).message}`, 'token-file');
  }
  const token = text.split(/\r?\n/)[0].trim();
  if (token.length < 16) throw new MlxBatchError('validation', `token file ${file} must hold a token of at least 16 characters`, 'token-file');
  return token;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Throws `authentication` unless the request carries `Authorization: Bearer <token>`. */
export function checkAuth(req: IncomingMessage, token: string | undefined): void {
  if (token === undefined) return;
  const header = req.headers.authorization ?? '';
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  // Compare digests so the comparison takes the same time whatever the length.
  if (!m || !timingSafeEqual(digest(m[1]), digest(token))) {
    throw new MlxBatchError('authentication', 'missing or wrong API key: send "Authorization: Bearer <token>" with the token from the server\'s token file');
  }
}
