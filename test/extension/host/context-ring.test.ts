// Inside a real VS Code extension host: what the context ring takes from the editor. A line the
// user edits gives a piece once the edits pause; a file matched by `files.exclude`, or larger than
// `mlxBatch.completion.context.maxFileKB`, gives none, while a file beside it does. And the
// definition of a symbol near the cursor comes from the language's own provider.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { MlxBatchApi } from '../../../src/extension/extension';
import { definitionChunks } from '../../../src/extension/completion/definitions';
import { activeApi, hostVscode, waitFor } from './host';

const vscode = hostVscode();

/** A file of `n` lines of code, `marker` on line `at`. */
function codeFile(dir: string, name: string, n: number, marker = '', at = 0): string {
  const file = path.join(dir, name);
  // Lines of their own per file: the ring takes a piece that shares most lines with another as its newer version.
  const stem = path.basename(name, '.ts').replace(/\W/g, '');
  fs.writeFileSync(file, Array.from({ length: n }, (_, i) => (i === at && marker ? `export const ${marker} = ${i};` : `export const ${stem}Value${i} = compute(${i}, '${stem}');`)).join('\n') + '\n');
  return file;
}

describe('extension host: the context ring', function () {
  let api: MlxBatchApi;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlx-ring-host-'));
  const inRing = (needle: string) => api.completions.ring.chunks().some((c) => c.text.includes(needle));
  const show = async (file: string) => vscode!.window.showTextDocument(await vscode!.workspace.openTextDocument(vscode!.Uri.file(file)), { preview: false });

  before(async function () {
    if (!vscode) throw new Error('these tests run inside a VS Code extension host: the extension tier (test/extension/launch.test.ts) starts one');
    api = await activeApi(vscode);
  });

  it('takes a piece around a line the user edits, once the edits pause', async () => {
    const editor = await show(codeFile(dir, 'orders.ts', 120));
    await editor.edit((b) => b.insert(new vscode!.Position(100, 0), 'export const refundWindowDays = 14;\n'));
    await waitFor('the edited line in the ring', () => inRing('refundWindowDays'), 30_000);
    const piece = api.completions.ring.chunks().find((c) => c.text.includes('refundWindowDays'))!;
    assert.match(piece.filename, /orders\.ts$/);
    assert.ok(piece.text.trimEnd().split('\n').length <= api.settings().completion.context.chunkLines, 'one piece of chunkLines lines at most');
  });

  it('takes nothing from a file files.exclude matches or one larger than maxFileKB, and takes the file beside them', async () => {
    const files = vscode!.workspace.getConfiguration('files');
    const excludeBefore = files.inspect<Record<string, boolean>>('exclude')?.globalValue;
    const ours = vscode!.workspace.getConfiguration('mlxBatch');
    const sizeBefore = ours.inspect<number>('completion.context.maxFileKB')?.globalValue;
    await files.update('exclude', { ...(excludeBefore ?? {}), '**/secret-*.ts': true }, vscode!.ConfigurationTarget.Global);
    await ours.update('completion.context.maxFileKB', 4, vscode!.ConfigurationTarget.Global);
    try {
      await waitFor('the smaller file limit', () => api.settings().completion.context.maxFileKB === 4, 10_000);
      await show(codeFile(dir, 'secret-keys.ts', 20, 'secretSigningKey', 3));
      await show(codeFile(dir, 'huge.ts', 200, 'hugeFileMarker', 3));
      await show(codeFile(dir, 'beside.ts', 20, 'besideMarker', 3));
      await waitFor('the file beside them in the ring', () => inRing('besideMarker'), 30_000);
      // The same refresh moved every queued piece in: had the others been queued, they would be there.
      assert.ok(!inRing('secretSigningKey'), 'nothing from an excluded file');
      assert.ok(!inRing('hugeFileMarker'), 'nothing from a file over maxFileKB');
    } finally {
      await files.update('exclude', excludeBefore, vscode!.ConfigurationTarget.Global);
      await ours.update('completion.context.maxFileKB', sizeBefore, vscode!.ConfigurationTarget.Global);
    }
  });

  it('finds the definition of a symbol near the cursor in another file through the language\'s provider', async () => {
    const lib = path.join(dir, 'shapes.ts');
    fs.writeFileSync(lib, 'export interface Widget {\n  width: number;\n  height: number;\n}\n\nexport function widgetArea(w: Widget): number {\n  return w.width * w.height;\n}\n');
    const main = path.join(dir, 'use-shapes.ts');
    fs.writeFileSync(main, "import { widgetArea } from './shapes';\n\nconst area = widgetArea(\n");
    const doc = await vscode!.workspace.openTextDocument(vscode!.Uri.file(main));
    await vscode!.window.showTextDocument(doc, { preview: false });
    const at = new vscode!.Position(2, 'const area = widgetArea('.length);
    const opts = { timeoutMs: 5000, lines: 4, maxFileKB: 1024, window: { startLine: 0, endLine: 2 } };
    // The TypeScript server answers once it has loaded the files.
    const chunks = await waitFor('the definition from the TypeScript provider', async () => {
      const found = await definitionChunks(doc, at, opts, new vscode!.CancellationTokenSource().token);
      return found.some((c) => c.text.includes('export function widgetArea')) ? found : undefined;
    }, 45_000);
    const piece = chunks.find((c) => c.text.includes('export function widgetArea'))!;
    assert.match(piece.filename, /shapes\.ts$/);
    assert.equal(piece.text.trimEnd().split('\n').length, 3, 'the lines from the definition to the end of the file, at most `lines`');
  });
});
