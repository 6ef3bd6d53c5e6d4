// The `extension` tier: runs test/extension/*.test.js inside a real extension host (code-server's,
// opened in Chromium with extensionTestsPath) and passes when that mocha run passes.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { prerequisites, saveFailure, startEditor, waitUntil, type Editor } from './harness';

describe('extension host tests (test/extension) in code-server', function () {
  this.timeout(1_200_000); // includes the first code-server install
  let editor: Editor | undefined;
  let page: Page | undefined;

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') await saveFailure(editor, page, `extension-host ${this.currentTest.title}`);
  });
  after(async () => {
    await editor?.close();
  });

  it('passes every extension-host test', async function () {
    const pre = prerequisites();
    const tests = path.join(__dirname, '..', 'extension', 'index.js');
    assert.ok(fs.existsSync(tests), `${tests} is compiled (tsc -p .)`);
    editor = await startEditor('host', pre.pkg);
    page = await editor.newPage();
    const lines: string[] = [];
    // Mocha's spec reporter logs through console.log with %-formats, which the workbench forwards
    // behind its own '%c INFO', 'color: ...' prefix; print the filled-in lines.
    page.on('console', (m) => {
      void Promise.all(m.args().map((a) => a.jsonValue().catch(() => ''))).then((values) => {
        const args = values.map(String);
        if (/^%c/.test(args[0] ?? '')) args.splice(0, 2);
        const [fmt = '', ...rest] = args;
        const text = [fmt.replace(/%[sdoc]/g, (f) => (f === '%c' ? (rest.shift(), '') : String(rest.shift() ?? ''))), ...rest].join(' ');
        if (/passing|failing|pending|✔|^\s*\d+\) |AssertionError|Error:/.test(text)) {
          lines.push(text);
          console.log(`      [host] ${text.trimEnd()}`);
        }
      });
    });
    const authority = new URL(editor.url).host;
    const payload = JSON.stringify([
      ['extensionDevelopmentPath', `vscode-remote://${authority}${editor.extensionPath}`],
      ['extensionTestsPath', `vscode-remote://${authority}${tests}`],
    ]);
    await page.goto(`${editor.url}/?folder=${encodeURIComponent(editor.workspace)}&payload=${encodeURIComponent(payload)}`);
    await page.waitForSelector('.monaco-workbench', { timeout: 120_000 });
    const exit = await waitUntil('the extension host to finish the tests', () => {
      const m = /Extension Host Process exited with code: (\d+)/.exec(fs.readFileSync(editor!.codeServerLog, 'utf8'));
      return m ? { code: Number(m[1]) } : undefined;
    }, 840_000);
    const summary = lines.filter((l) => /passing|failing/.test(l)).join('; ');
    assert.equal(exit.code, 0, `extension-host tests failed (${summary || 'no mocha summary seen'})`);
    assert.match(summary, /\d+ passing/);
    assert.doesNotMatch(summary, /[1-9]\d* failing/);
  });
});
