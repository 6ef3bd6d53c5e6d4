// A node-mlx whose native module cannot load here (a macOS binary on this machine), through the
// real server process: one `error` event typed mlx_unavailable that says what was found, what
// this machine is and how to build the right .vsix, and exit code 1, instead of a crash at load.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { metalAvailable } from '../../src/server/device';
import { compiled, isError, isListening, spawnServer } from './helpers/spawn-server';

const ROOT = compiled('..');
const PACKAGE = path.join(ROOT, 'node_modules', '@frost-beta', 'mlx');

/** A copy of the node-mlx package whose mlx.node starts like a macOS arm64 build. */
function foreignCopy(dir: string): string {
  const pkg = path.join(dir, 'mlx');
  for (const part of ['package.json', 'lib', 'dist']) fs.cpSync(path.join(PACKAGE, part), path.join(pkg, part), { recursive: true });
  const binary = path.join(pkg, 'build', 'Release', 'mlx.node');
  fs.mkdirSync(path.dirname(binary), { recursive: true });
  const bytes = fs.readFileSync(path.join(PACKAGE, 'build', 'Release', 'mlx.node')).subarray(0, 1 << 16);
  Buffer.from([0xcf, 0xfa, 0xed, 0xfe, 0x0c, 0x00, 0x00, 0x01]).copy(bytes); // MH_MAGIC_64, CPU_TYPE_ARM64
  fs.writeFileSync(binary, bytes);
  return pkg;
}

describe('server: node-mlx that cannot load on this machine', function () {
  this.timeout(60_000);
  let dir: string;
  let pkg: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlx-batch-foreign-'));
    pkg = foreignCopy(dir);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const entries: [string, string][] = [['the compiled entry', compiled('src', 'cli', 'server', 'main.js')], ['dist/server.js', path.join(ROOT, 'dist', 'server.js')]];
  for (const [name, script] of entries) {
    it(`${name}: one mlx_unavailable error event naming the binary and this machine, exit 1`, async function () {
      if (!fs.existsSync(script)) this.skip();
      const s = spawnServer(script, ['--model', dir, '--port', '0'], { MLX_BATCH_MLX_MODULE: pkg });
      await s.event(isListening);
      const err = await s.event(isError);
      assert.equal(err.type, 'mlx_unavailable');
      const binary = path.join(pkg, 'build', 'Release', 'mlx.node');
      assert.equal(err.message, `node-mlx's native module ${binary} was built for another platform or CPU: it is a macOS arm64 binary (Mach-O), ` +
        `and this machine is ${process.platform}-${process.arch} (${binary}: invalid ELF header). ` +
        'Build the extension on this kind of machine: `npm run package` there makes a .vsix with the right binary.');
      const exit = await s.exit;
      assert.deepEqual([exit.code, exit.signal], [1, null], s.stderr());
      assert.deepEqual(s.events.map((e) => e.event).filter((e) => e !== 'loading'), ['listening', 'error']);
      assert.doesNotMatch(s.stderr(), /ERR_DLOPEN_FAILED|at Module\._extensions/, 'no stack trace');
    });
  }

  it('--device gpu where Metal is unavailable: one validation error event naming the flag, exit 1', async function () {
    if (metalAvailable()) this.skip();
    const script = entries[0][1];
    const s = spawnServer(script, ['--model', dir, '--port', '0', '--device', 'gpu']);
    const err = await s.event(isError);
    assert.equal(err.type, 'validation');
    assert.equal(err.message, `--device gpu needs Metal, which this node-mlx build does not have here (${process.platform}-${process.arch}); use --device cpu`);
    assert.deepEqual([(await s.exit).code], [1]);
  });

  for (const [name, cli] of [['the compiled CLI', compiled('src', 'cli', 'main.js')], ['dist/cli.js', path.join(ROOT, 'dist', 'cli.js')]]) {
    it(`${name}: the same message on stderr, exit 1, no stack trace`, function () {
      if (!fs.existsSync(cli)) this.skip();
      const r = spawnSync(process.execPath, [cli, 'generate', '--model', dir, '--prompt', 'x'], { encoding: 'utf8', env: { ...process.env, MLX_BATCH_MLX_MODULE: pkg } });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /^mlx-batch: node-mlx's native module \S+mlx\.node was built for another platform or CPU: it is a macOS arm64 binary \(Mach-O\)/);
      assert.ok(r.stderr.includes('`npm run package`'), r.stderr);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    });
  }
});
