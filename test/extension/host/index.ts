// Entry for `--extensionTestsPath` (VS Code / code-server): runs every test/extension/host/*.test.js
// inside the extension host with mocha, prints the spec report, and writes one JSON line per test
// to $MLX_BATCH_HOST_RESULTS, which the extension tier's launcher (../launch.test.ts) reports as
// one test each. Rejects when a test fails. $MLX_BATCH_HOST_GREP runs only the tests whose full
// title matches it (a regular expression) (the launcher's environment reaches the host).
import fs from 'node:fs';
import path from 'node:path';
import Mocha from 'mocha';

/** One line of the results file. */
export interface HostTestResult {
  title: string;
  state: 'passed' | 'failed' | 'pending';
  durationMs?: number;
  error?: string;
}

export function run(): Promise<void> {
  const results = process.env.MLX_BATCH_HOST_RESULTS;
  const mocha = new Mocha({ ui: 'bdd', timeout: 300_000, color: false, reporter: process.env.MLX_BATCH_TEST_REPORTER || 'spec' });
  if (process.env.MLX_BATCH_HOST_GREP) mocha.grep(new RegExp(process.env.MLX_BATCH_HOST_GREP));
  for (const f of fs.readdirSync(__dirname).filter((f) => f.endsWith('.test.js')).sort()) mocha.addFile(path.join(__dirname, f));
  const record = (r: HostTestResult) => {
    if (results) fs.appendFileSync(results, `${JSON.stringify(r)}\n`);
  };
  return new Promise((resolve, reject) => {
    const runner = mocha.run((failures) => (failures ? reject(new Error(`${failures} extension test(s) failed`)) : resolve()));
    runner.on('pass', (t) => record({ title: t.fullTitle(), state: 'passed', durationMs: t.duration }));
    runner.on('pending', (t) => record({ title: t.fullTitle(), state: 'pending' }));
    // A failing hook fails every test of its suite: one line names the hook.
    runner.on('fail', (t, err: Error) => record({ title: t.fullTitle(), state: 'failed', error: err.stack ?? String(err) }));
  });
}
