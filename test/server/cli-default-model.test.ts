// The `mlx-batch` commands run on the shipped model when no --model is named, as the extension
// does, whatever folder they are started from: the bin (dist/cli.js) in real processes.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { isListening, isReady, spawnServer } from './helpers/spawn-server';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const SHIPPED = path.join(ROOT, 'models', 'default');

describe('mlx-batch commands without --model', function () {
  this.timeout(120_000);

  it('generate runs on the shipped model from any folder', () => {
    const out = execFileSync(process.execPath, [CLI, 'generate', '--prompt', 'function add(a, b) {', '--max-tokens', '4'],
      { cwd: os.tmpdir(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.ok(out.length > 0, 'some text was generated');
  });

  it('serve loads the shipped model and says so', async () => {
    const s = spawnServer(CLI, ['serve', '--port', '0']);
    try {
      const listening = await s.event(isListening, 60_000);
      assert.equal(listening.model, SHIPPED);
      await s.event(isReady, 60_000);
    } finally {
      s.child.kill('SIGTERM');
      await s.exit;
    }
  });

  it('the usage text names the default', () => {
    for (const cmd of ['generate', 'bench', 'serve', 'eval-model']) {
      const help = execFileSync(process.execPath, [CLI, cmd, '--help'], { encoding: 'utf8' });
      assert.match(help, /\[--model M\]/, cmd);
      assert.match(help, /default: the shipped model \(models\/default\)/, cmd);
    }
  });
});
