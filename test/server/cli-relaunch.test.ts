// The `mlx-batch` bin (dist/cli.js) started without glibc's huge-page tunable, as a user starts it
// from a shell: it runs the command again with the tunable, so the server's weights sit in huge
// pages; SIGTERM reaches the server through it and the exit code is the server's, and a failing
// command's code and message come through once.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { ensureFixtureModel } from '../../src/server/fixtures';
import type { ServerEvent } from '../../src/shared/protocol';
import { thpMode, weightBytes } from './helpers/huge-pages';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');

/** Our environment without any glibc tunable: a shell's. */
function shellEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.GLIBC_TUNABLES;
  delete env.MLX_BATCH_HUGE_PAGES;
  delete env.MLX_BATCH_MALLOC_KEEP;
  return env;
}

describe('mlx-batch started from a shell (huge pages by starting itself again)', function () {
  this.timeout(120_000);

  it('serve holds its weights in huge pages, and SIGTERM drains it with exit code 0', async function () {
    if (process.platform !== 'linux' || thpMode() === 'never') this.skip();
    const model = await ensureFixtureModel('llama', 'tiny');
    const weights = weightBytes(model);
    const child = spawn(process.execPath, [CLI, 'serve', '--model', model, '--port', '0'], { env: shellEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const ready = await new Promise<Extract<ServerEvent, { event: 'ready' }>>((resolve, reject) => {
        let rest = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => {
          const lines = (rest + d).split('\n');
          rest = lines.pop() ?? '';
          for (const l of lines) {
            const e = JSON.parse(l) as ServerEvent;
            if (e.event === 'ready') resolve(e);
          }
        });
        void exit.then((code) => reject(new Error(`exited with ${code}: ${stderr}`)));
      });
      const huge = ready.kernels?.hugePageBytes ?? 0;
      assert.ok(huge >= weights / 2, `${huge} bytes in huge pages for ${weights} bytes of weights`);
      child.kill('SIGTERM');
      assert.equal(await exit, 0, stderr);
      assert.match(stderr, /drain|stopp|shut/i, 'the server itself got the signal and drained');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('a failing command exits with its own code and says why once', () => {
    const r = spawnSync(process.execPath, [CLI, 'generate', '--model', path.join(ROOT, 'no-such-model'), '--prompt', 'x'], { env: shellEnv(), encoding: 'utf8' });
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stderr.split('\n').filter((l) => l.startsWith('mlx-batch generate:')).length, 1, r.stderr);
    const bad = spawnSync(process.execPath, [CLI, 'bench', '--concurrency', 'x'], { env: shellEnv(), encoding: 'utf8' });
    assert.equal(bad.status, 2, bad.stderr);
  });
});
