// The set-up's check of node_modules against package-lock.json (scripts/lib/check-node-modules.mjs),
// run as set-up runs it: a real process on real folders. A tree that an interrupted install left
// behind must be found, so set-up reinstalls instead of failing later with "node-mlx does not load".
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const CHECK = path.join(ROOT, 'scripts', 'lib', 'check-node-modules.mjs');
const otherOs = process.platform === 'linux' ? 'darwin' : 'linux';

function project(installed: Record<string, string>, { finished = true } = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlx-batch-nm-'));
  fs.writeFileSync(path.join(dir, 'package-lock.json'), JSON.stringify({
    lockfileVersion: 3,
    packages: {
      '': { name: 'p' },
      'node_modules/a': { version: '1.0.0' },
      'node_modules/@s/b': { version: '2.1.0', dev: true },
      'node_modules/a/node_modules/c': { version: '0.3.0' },
      'node_modules/native-other-os': { version: '1.0.0', optional: true, os: [otherOs] },
      'node_modules/linked': { resolved: '../linked', link: true },
    },
  }));
  fs.mkdirSync(path.join(dir, 'node_modules'));
  if (finished) fs.writeFileSync(path.join(dir, 'node_modules', '.package-lock.json'), '{}');
  for (const [key, version] of Object.entries(installed)) {
    fs.mkdirSync(path.join(dir, key), { recursive: true });
    fs.writeFileSync(path.join(dir, key, 'package.json'), JSON.stringify({ name: key, version }));
  }
  return dir;
}

function check(dir: string): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [CHECK, dir], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout + r.stderr };
}

const complete = { 'node_modules/a': '1.0.0', 'node_modules/@s/b': '2.1.0', 'node_modules/a/node_modules/c': '0.3.0' };

describe('set-up: node_modules checked against package-lock.json', () => {
  it('passes a complete tree (other platforms\' optional packages and links are not required)', () => {
    assert.deepEqual(check(project(complete)), { code: 0, out: '' });
  });

  it('finds a missing package, a nested one, and a wrong version', () => {
    const { 'node_modules/a/node_modules/c': _c, ...rest } = complete;
    const r = check(project({ ...rest, 'node_modules/@s/b': '2.0.9' }));
    assert.equal(r.code, 1);
    assert.match(r.out, /^2 package\(s\) not as package-lock\.json says: /);
    assert.match(r.out, /@s\/b: 2\.0\.9 installed, 2\.1\.0 locked/);
    assert.match(r.out, /a\/node_modules\/c: missing or unreadable package\.json/);
  });

  it('finds a package whose package.json was cut off mid-write', () => {
    const dir = project(complete);
    fs.writeFileSync(path.join(dir, 'node_modules', 'a', 'package.json'), '{"name": "a", "vers');
    assert.match(check(dir).out, /\ba: missing or unreadable package\.json/);
  });

  it('finds an install that did not finish (npm writes node_modules/.package-lock.json last)', () => {
    const r = check(project(complete, { finished: false }));
    assert.equal(r.code, 1);
    assert.match(r.out, /npm did not finish/);
  });

  it('finds node_modules missing altogether', () => {
    const dir = project(complete);
    fs.rmSync(path.join(dir, 'node_modules'), { recursive: true });
    assert.match(check(dir).out, /node_modules is missing/);
  });

  it('passes this checkout, which set-up installed', () => {
    assert.deepEqual(check(ROOT), { code: 0, out: '' });
  });
});
