// Builds the bench's small C helpers with the system C compiler, once per source version, into a
// cache folder under the OS temp dir. Returns undefined when there is no compiler (or not Linux).
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const NATIVE_DIR = path.join(process.cwd(), 'bench', 'native');

export function buildNative(source: string, kind: 'executable' | 'addon', extraFlags: string[] = []): string | undefined {
  if (process.platform !== 'linux' || process.arch !== 'x64') return undefined;
  const src = path.join(NATIVE_DIR, source);
  const text = fs.readFileSync(src);
  const hash = crypto.createHash('sha256').update(text).update(kind).update(extraFlags.join(' ')).digest('hex').slice(0, 12);
  const dir = path.join(os.tmpdir(), 'mlx-batch-bench');
  const out = path.join(dir, `${path.basename(source, '.c')}-${hash}${kind === 'addon' ? '.node' : ''}`);
  if (fs.existsSync(out)) return out;
  fs.mkdirSync(dir, { recursive: true });
  const tmp = `${out}.tmp-${process.pid}`;
  const flags = kind === 'addon' ? ['-shared', '-fPIC', '-ldl'] : ['-pthread'];
  for (const cc of [process.env.CC, 'cc', 'gcc', 'clang']) {
    if (!cc) continue;
    try {
      execFileSync(cc, ['-O2', ...extraFlags, src, '-o', tmp, ...flags], { stdio: 'pipe' });
      fs.renameSync(tmp, out);
      return out;
    } catch {
      // try the next compiler
    }
  }
  return undefined;
}
