// The test command: type-check and compile (tsc), lint the layers, then run every mocha tier and
// print mocha's counts plus one plain "N passed, N failed" line. Tiers: `node scripts/run-tests.mjs unit engine`.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Mocha from 'mocha';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
process.chdir(root);
const TIERS = ['unit', 'model', 'engine', 'server', 'extension', 'e2e'];
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const tiers = wanted.length ? wanted : TIERS;
const grep = process.argv.find((a) => a.startsWith('--grep='))?.slice(7);

const run = (cmd, args) => execFileSync(cmd, args, { stdio: 'inherit' });
fs.rmSync('out', { recursive: true, force: true });
run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', '.']);
if (!process.argv.includes('--no-lint')) run(process.execPath, ['node_modules/eslint/bin/eslint.js', '.']);

function files(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true }).map(String)
    .filter((f) => f.endsWith('.test.js')).sort().map((f) => path.join(dir, f));
}
// test/extension runs inside a real extension host (code-server), started by one e2e file; the
// `extension` tier is that file, the `e2e` tier the rest of test/e2e.
const HOST_RUNNER = path.join('out/test/e2e', 'extension-host.test.js');
function tierFiles(tier) {
  if (tier === 'extension') return files('out/test/e2e').filter((f) => f === HOST_RUNNER);
  const all = files(path.join('out/test', tier));
  return tier === 'e2e' ? all.filter((f) => f !== HOST_RUNNER) : all;
}
const mocha = new Mocha({ reporter: 'spec', timeout: 120_000, grep });
for (const tier of tiers) for (const f of tierFiles(tier)) mocha.addFile(path.resolve(f));
const runner = mocha.run((failures) => {
  const { passes = 0, pending = 0 } = runner.stats ?? {};
  console.log(`${passes} passed, ${failures} failed${pending ? `, ${pending} skipped` : ''}`);
  process.exitCode = failures ? 1 : 0;
});
