// A model too big for the machine, through the real `mlx-batch serve` process: a clear load
// error (the `error` event on stdout, the message on stderr, exit code 1) from the headers
// alone, instead of a process killed for running out of memory.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { llama70bConfig, writeHeaderOnlyModel } from '../model/helpers/header-only-model';
import { compiled, isError, isListening, spawnServer } from './helpers/spawn-server';

// The CLI entry as tsc compiled it for this run (dist/cli.js bundles the same file).
const CLI = compiled('src', 'cli', 'main.js');

describe('serve: a model too big for the machine', function () {
  this.timeout(60_000);
  let dir: string;

  before(function () {
    if (os.totalmem() > 300e9) this.skip();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlx-batch-too-big-'));
    // 141 GB declared, sparse on disk; model.norm.weight is left out, so a load that got past
    // the check would stop at the missing tensor instead of reading the data.
    writeHeaderOnlyModel(dir, llama70bConfig(), { dtype: 'BF16', omit: ['model.norm.weight'] });
  });
  after(() => { if (dir) fs.rmSync(dir, { recursive: true, force: true }); });

  it('announces an insufficient_memory error with the figures and exits 1', async () => {
    const s = spawnServer(CLI, ['serve', '--model', dir, '--port', '0']);
    try {
      await s.event(isListening);
      const err = await s.event(isError);
      assert.equal(err.type, 'insufficient_memory');
      assert.match(err.message, /^mlx-batch-too-big-\w+ does not fit in the memory available: the weights alone take more than there is\. Weights: (282\.2 GB as held \(float32, bf16 upcast\)|141\.1 GB as held \(bf16 as stored\)); KV cache: (5\.37|2\.68) GB for one context of 8,192 tokens; available: [\d.]+ GB \((MemAvailable|[^)]+)\)/);
      assert.match(err.message, /"mlxBatch\.backend": "remote"/);
      const exit = await s.exit;
      assert.equal(exit.code, 1, s.stderr());
      assert.equal(exit.signal, null);
      assert.ok(s.stderr().includes(`error loading ${dir} failed: ${err.message}`), s.stderr());
      assert.ok(s.stdout.every((l) => l === '' || JSON.parse(l)), 'stdout holds only JSON event lines');
      assert.deepEqual(s.events.map((e) => e.event).filter((e) => e !== 'loading'), ['listening', 'error']);
    } finally {
      s.child.kill('SIGKILL');
      await s.exit;
    }
  });
});
