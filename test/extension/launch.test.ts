// The `extension` tier: runs test/extension/host/*.test.js inside a real extension host
// (code-server's, opened in Chromium with extensionTestsPath), then reports each host test as a
// test of its own, from the results file the host writes (host/index.ts).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Mocha from 'mocha';
import type { Page } from 'playwright-core';
import { prerequisites, saveFailure, startEditor, waitUntil, type Editor } from '../e2e/harness';
import type { HostTestResult } from './host/index';

describe('extension host (code-server)', function () {
  this.timeout(1_200_000);
  let editor: Editor | undefined;
  let page: Page | undefined;
  let exitCode: number | undefined;
  let results: HostTestResult[] = [];
  const summary: string[] = [];

  before(async function () {
    const pre = prerequisites();
    const tests = path.join(__dirname, 'host', 'index.js');
    assert.ok(fs.existsSync(tests), `${tests} is compiled (tsc -p .)`);
    const resultsFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mlx-batch-host-')), 'results.jsonl');
    editor = await startEditor('host', pre.pkg, { MLX_BATCH_HOST_RESULTS: resultsFile });
    page = await editor.newPage();
    // Mocha's spec reporter logs through console.log with %-formats, which the workbench forwards
    // behind its own '%c INFO', 'color: ...' prefix; print the filled-in lines.
    page.on('console', (m) => {
      void Promise.all(m.args().map((a) => a.jsonValue().catch(() => ''))).then((values) => {
        const args = values.map(String);
        if (/^%c/.test(args[0] ?? '')) args.splice(0, 2);
        const [fmt = '', ...rest] = args;
        const text = [fmt.replace(/%[sdoc]/g, (f) => (f === '%c' ? (rest.shift(), '') : String(rest.shift() ?? ''))), ...rest].join(' ');
        if (/passing|failing|pending/.test(text)) summary.push(text.trim());
        if (/passing|failing|pending|✔|^\s*\d+\) |AssertionError|Error:/.test(text)) console.log(`      [host] ${text.trimEnd()}`);
      });
    });
    const authority = new URL(editor.url).host;
    const payload = JSON.stringify([
      ['extensionDevelopmentPath', `vscode-remote://${authority}${editor.extensionPath}`],
      ['extensionTestsPath', `vscode-remote://${authority}${tests}`],
    ]);
    await page.goto(`${editor.url}/?folder=${encodeURIComponent(editor.workspace)}&payload=${encodeURIComponent(payload)}`);
    await page.waitForSelector('.monaco-workbench', { timeout: 120_000 });
    exitCode = (await waitUntil('the extension host to finish the tests', () => {
      const m = /Extension Host Process exited with code: (\d+)/.exec(fs.readFileSync(editor!.codeServerLog, 'utf8'));
      return m ? { code: Number(m[1]) } : undefined;
    }, 840_000)).code;
    results = fs.existsSync(resultsFile)
      ? fs.readFileSync(resultsFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as HostTestResult)
      : [];
    // One test here for each test the host ran, with its own result.
    for (const r of results) {
      this.test!.parent!.addTest(new Mocha.Test(`[host] ${r.title}`, function (this: Mocha.Context) {
        if (r.state === 'pending') this.skip();
        if (r.state === 'failed') throw new Error(r.error ?? 'failed in the extension host');
      }));
    }
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') await saveFailure(editor, page, `extension-host ${this.currentTest.title}`);
  });
  after(async () => {
    await editor?.close();
  });

  it('the extension host ran every test and exited 0', () => {
    const passing = Number(/(\d+) passing/.exec(summary.join(' '))?.[1] ?? NaN);
    const failing = Number(/(\d+) failing/.exec(summary.join(' '))?.[1] ?? 0);
    assert.equal(results.filter((r) => r.state === 'passed').length, passing, `the results file holds every passing test (host said: ${summary.join('; ')})`);
    assert.equal(results.filter((r) => r.state === 'failed').length, failing);
    assert.equal(exitCode, 0, `the extension host exited with ${exitCode}`);
  });
});
