// The test command (`npm test`): set up this machine (scripts/setup.sh), type-check and compile
// (tsc), lint the layers, install code-server for the editor tiers, then run each mocha tier.
// Prints the time of every step and tier, mocha's counts, and one plain "N passed, N failed" line.
// Tiers: `npm test -- unit engine`; `--grep=TEXT`; `--no-setup`, `--no-lint` for quick reruns.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
process.chdir(root);
const TIERS = ['unit', 'http', 'model', 'engine', 'server', 'extension', 'e2e'];
const EDITOR_TIERS = new Set(['extension', 'e2e']);
const flags = new Set(process.argv.slice(2).filter((a) => a.startsWith('--')));
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = wanted.filter((t) => !TIERS.includes(t));
if (unknown.length) {
  console.error(`unknown tier(s): ${unknown.join(', ')} (tiers: ${TIERS.join(', ')})`);
  process.exit(2);
}
const tiers = wanted.length ? wanted : TIERS;
const grep = process.argv.find((a) => a.startsWith('--grep='))?.slice(7);

const timings = [];
const seconds = (t0) => ((performance.now() - t0) / 1000).toFixed(1);
/** Runs one set-up step with its output on the terminal; exits the run when it fails. */
function step(name, cmd, args) {
  const t0 = performance.now();
  try {
    execFileSync(cmd, args, { stdio: 'inherit' });
  } catch {
    console.error(`[test] ${name} failed after ${seconds(t0)}s`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
  timings.push(`${name} ${seconds(t0)}s`);
  console.error(`[test] ${name}: ${seconds(t0)}s`);
}

if (!flags.has('--no-setup')) step('set-up', 'bash', ['scripts/setup.sh']);
fs.rmSync('out', { recursive: true, force: true });
step('tsc', process.execPath, ['node_modules/typescript/bin/tsc', '-p', '.']);
if (!flags.has('--no-lint')) step('lint', process.execPath, ['node_modules/eslint/bin/eslint.js', '.']);

// The editor tiers need code-server (installed once into .cache/): installed here, as a timed
// step, so a failure names itself instead of hiding inside a test's timeout. Its path reaches the
// tests through MLX_BATCH_CODE_SERVER.
let setupFailures = 0;
if (tiers.some((t) => EDITOR_TIERS.has(t))) {
  const t0 = performance.now();
  const r = spawnSync('bash', ['scripts/install-code-server.sh'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const pkg = r.stdout?.trim().split('\n').at(-1);
  if (r.status === 0 && pkg) {
    process.env.MLX_BATCH_CODE_SERVER = pkg;
    timings.push(`code-server ${seconds(t0)}s`);
    console.error(`[test] code-server: ${seconds(t0)}s`);
  } else {
    console.error(`[test] code-server install failed (exit ${r.status ?? r.signal}): the extension and e2e tiers cannot run`);
    setupFailures = 1;
  }
}

function files(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true }).map(String)
    .filter((f) => f.endsWith('.test.js')).sort().map((f) => path.join(dir, f));
}
// The extension tier's host tests (test/extension/host) run inside the extension host that
// test/extension/launch.test.js starts; they are not loaded here.
const HOST_TESTS = path.join('out/test/extension/host');
function tierFiles(tier) {
  return files(path.join('out/test', tier)).filter((f) => !f.startsWith(HOST_TESTS + path.sep));
}

const { default: Mocha } = await import('mocha');
let passed = 0;
let failed = setupFailures;
let skipped = 0;
for (const tier of tiers) {
  if (EDITOR_TIERS.has(tier) && setupFailures) {
    timings.push(`${tier} not run`);
    continue;
  }
  const mocha = new Mocha({ reporter: 'spec', timeout: 120_000, grep });
  for (const f of tierFiles(tier)) mocha.addFile(path.resolve(f));
  const t0 = performance.now();
  console.log(`\n=== tier ${tier} ===`);
  const stats = await new Promise((resolve) => {
    const runner = mocha.run((failures) => resolve({ ...runner.stats, failures }));
  });
  mocha.dispose();
  passed += stats.passes ?? 0;
  failed += stats.failures ?? 0;
  skipped += stats.pending ?? 0;
  timings.push(`${tier} ${seconds(t0)}s (${stats.passes ?? 0} passed, ${stats.failures ?? 0} failed)`);
}
console.log(`\ntimes: ${timings.join(', ')}`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exitCode = failed ? 1 : 0;
