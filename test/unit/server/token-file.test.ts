// The server's token file (--token-file), read as the extension writes it: its first line is the
// bearer token, and a token shorter than 16 characters is refused, naming the flag.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readTokenFile } from '../../../src/server/http/auth';

function file(text: string): string {
  const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mlx-batch-token-')), 'token');
  fs.writeFileSync(f, text, { mode: 0o600 });
  return f;
}

const refused = (text: RegExp) => (e: Error & { type?: string; param?: string }) => e.type === 'validation' && e.param === 'token-file' && text.test(e.message);

describe('token file', () => {
  it('takes the first line, trimmed', () => {
    assert.equal(readTokenFile(file('  0123456789abcdef  \r\nsecond line\n')), '0123456789abcdef');
  });

  it('refuses a token shorter than 16 characters, and an empty file', () => {
    assert.throws(() => readTokenFile(file('0123456789abcde\n')), refused(/at least 16 characters/));
    assert.throws(() => readTokenFile(file('')), refused(/at least 16 characters/));
  });

  it('refuses a file it cannot read, naming it', () => {
    const missing = path.join(os.tmpdir(), 'mlx-batch-no-such-token-file');
    assert.throws(() => readTokenFile(missing), refused(new RegExp(`cannot read token file ${missing}`)));
  });
});
