// A fresh random bearer token per server start, in a file only the user can read.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Writes a new 256-bit token to `<dir>/server-token` (mode 0600) and returns it and the path. */
export function writeTokenFile(dir: string): { token: string; file: string } {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const token = randomBytes(32).toString('hex');
  const file = path.join(dir, 'server-token');
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${token}\n`, { mode: 0o600 });
  fs.chmodSync(tmp, 0o600);
  fs.renameSync(tmp, file);
  return { token, file };
}
