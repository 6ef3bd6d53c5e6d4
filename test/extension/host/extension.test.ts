// Runs inside a real VS Code extension host with the extension installed and its shipped (or
// fixture) model: activation, server start, completions, batching toggle, chat, benchmark (both scenarios), restart.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { MlxBatchApi } from '../../../src/extension/extension';
import { EDITOR_BENCHMARK_MODES, isEditorReport, type BenchmarkReport, type EditorBenchmarkReport } from '../../../src/shared/protocol';
import { activeApi, hostVscode, waitFor, waitForReady } from './host';

const vscode = hostVscode();

describe('extension host: mlx-batch', function () {
  let api: MlxBatchApi;

  before(async function () {
    if (!vscode) throw new Error('these tests run inside a VS Code extension host: the extension tier (test/extension/launch.test.ts) starts one');
    api = await activeApi(vscode!);
    await api.backend.start();
    await waitForReady(api, 'the backend');
  });

  it('registers every command it contributes', async () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(vscode!.extensions.getExtension('mlx-batch.mlx-batch')!.extensionPath, 'package.json'), 'utf8'));
    const all = new Set(await vscode!.commands.getCommands(true));
    for (const c of pkg.contributes.commands as { command: string }[]) assert.ok(all.has(c.command), `${c.command} is registered`);
  });

  it('shows live stats from the server in the status bar', async () => {
    const stats = await waitFor('live stats', () => api.statusBar.lastStats, 30_000);
    assert.ok(stats.max_batch >= 1);
  });

  it('returns an inline completion for a TypeScript document', async () => {
    const doc = await vscode!.workspace.openTextDocument({ language: 'typescript', content: 'function add(a: number, b: number): number {\n  return \n}\n' });
    const pos = new vscode!.Position(1, 9);
    const cts = new vscode!.CancellationTokenSource();
    const items = await api.completions.provider.provideInlineCompletionItems(doc, pos, { triggerKind: vscode!.InlineCompletionTriggerKind.Invoke, selectedCompletionInfo: undefined }, cts.token);
    assert.ok(items && items.length === 1, 'one item');
    assert.ok(String(items[0].insertText).length > 0);
    assert.equal(api.completions.provider.lastAnswer?.source, 'request');
  });

  it('completes in a file longer than the model\'s context (the server cuts the far context)', async () => {
    // About 9,000 characters before the cursor and 4,000 after: with the default context settings
    // (4,000 + 1,500 characters) this is more tokens than the shipped model's 1,024.
    const fn = (i: number) => `export function add${i}(a: number, b: number): number {\n  return a + b + ${i};\n}\n\n`;
    const before = Array.from({ length: 150 }, (_, i) => fn(i)).join('');
    const after = Array.from({ length: 60 }, (_, i) => fn(i + 200)).join('');
    const doc = await vscode!.workspace.openTextDocument({ language: 'typescript', content: `${before}export function add150(a: number, b: number): number {\n  return \n}\n\n${after}` });
    const pos = new vscode!.Position(before.split('\n').length, 9);
    const cts = new vscode!.CancellationTokenSource();
    const items = await api.completions.provider.provideInlineCompletionItems(doc, pos, { triggerKind: vscode!.InlineCompletionTriggerKind.Invoke, selectedCompletionInfo: undefined }, cts.token);
    assert.ok(items && items.length === 1, 'one item (a prompt the model cannot hold is cut by the server, not refused)');
    assert.ok(String(items[0].insertText).length > 0);
  });

  it('sends a symbol defined only in another open file with the completion, which comes back while a chat streams', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlx-ring-'));
    const lib = path.join(dir, 'geometry.ts');
    fs.writeFileSync(lib, 'export interface Widget {\n  width: number;\n  height: number;\n  depth: number;\n}\n\n' +
      'export function computeVolumeOfWidget(w: Widget): number {\n  return w.width * w.height * w.depth;\n}\n');
    await vscode!.window.showTextDocument(await vscode!.workspace.openTextDocument(vscode!.Uri.file(lib)), { preview: false });
    // The gatherer queues the visible file; the ring takes it on a refresh tick without completions.
    await waitFor('the open file in the context ring', () => api.completions.ring.chunks().some((c) => c.text.includes('computeVolumeOfWidget')), 60_000);
    const main = path.join(dir, 'main.ts');
    fs.writeFileSync(main, 'const box = { width: 1, height: 2, depth: 3 };\nconst volume = \n');
    const doc = await vscode!.workspace.openTextDocument(vscode!.Uri.file(main));
    await vscode!.window.showTextDocument(doc, { preview: false });
    // A chat streams its answer meanwhile.
    const client = (await api.backend.client())!;
    let chatChunks = 0;
    let chatDone = false;
    const chat = (async () => {
      for await (const c of client.streamChat({ messages: [{ role: 'user', content: 'Explain closures in JavaScript.' }], max_tokens: 400, temperature: 0, ignore_eos: true })) {
        if (c.choices[0]?.delta?.content) chatChunks++;
      }
      chatDone = true;
    })();
    await waitFor('the chat to stream', () => chatChunks > 0, 60_000);
    api.completions.pipeline.cache.clear();
    const items = await api.completions.provider.provideInlineCompletionItems(doc, new vscode!.Position(1, 15),
      { triggerKind: vscode!.InlineCompletionTriggerKind.Invoke, selectedCompletionInfo: undefined }, new vscode!.CancellationTokenSource().token);
    const doneWhileChatting = !chatDone;
    assert.ok(items && items.length === 1, 'one item');
    const piece = api.completions.pipeline.lastExtra.find((p) => p.text.includes('computeVolumeOfWidget'));
    assert.ok(piece, `the other file's piece went with the request (${api.completions.pipeline.lastExtra.map((p) => p.filename).join(', ')})`);
    assert.match(piece.filename, /geometry\.ts$/);
    assert.ok(doneWhileChatting, 'the completion came back while the chat was still streaming');
    await chat;
  });

  it('toggles batching on the running server', async () => {
    const client = (await api.backend.client())!;
    const before = (await client.getBatching()).enabled;
    const after = await vscode!.commands.executeCommand<boolean>('mlxBatch.toggleBatching');
    assert.equal(after, !before);
    assert.equal((await client.getBatching()).enabled, !before);
    await vscode!.commands.executeCommand('mlxBatch.toggleBatching');
    assert.equal((await client.getBatching()).enabled, before);
  });

  it('answers in two chats streaming at once, and Stop ends an answer early', async () => {
    const a = api.chat.newChat();
    const pa = api.chat.ask('Write a haiku about batching.', { chatId: a });
    const b = api.chat.newChat();
    const pb = api.chat.ask('Explain continuous batching in one line.', { chatId: b });
    const [ra, rb] = await Promise.all([pa, pb]);
    assert.equal(ra.error, undefined);
    assert.equal(rb.error, undefined);
    assert.ok(ra.text.length > 0 && rb.text.length > 0);
    // Stop must find the answer still running, whatever the model writes (a small model may
    // answer in a few tokens): long requests hold every row, so the question waits on the
    // server until Stop cancels it.
    const client = (await api.backend.client())!;
    const rows = (await waitFor('live stats', () => api.statusBar.lastStats, 30_000)).max_batch;
    const hold = new AbortController();
    const holds = Array.from({ length: rows }, async () => {
      try {
        for await (const chunk of client.streamCompletion({ prompt: 'export interface Options {\n', max_tokens: 900, ignore_eos: true, temperature: 0 }, { signal: hold.signal })) void chunk;
      } catch (err) {
        if (!hold.signal.aborted) throw err;
      }
    });
    try {
      await waitFor('every row held', () => api.statusBar.lastStats?.running === rows, 30_000);
      const c = api.chat.newChat();
      const pc = api.chat.ask('Count to one thousand.', { chatId: c });
      await waitFor('the question waiting on the server', () => (api.statusBar.lastStats?.waiting ?? 0) > 0, 30_000);
      api.chat.stop(c);
      const rc = await pc;
      assert.equal(rc.stopped, true);
    } finally {
      hold.abort();
      await Promise.all(holds);
    }
  });

  it('runs the throughput benchmark from the command and exports it', async () => {
    const cfg = vscode!.workspace.getConfiguration('mlxBatch');
    await cfg.update('benchmark.concurrency', [1, 2], vscode!.ConfigurationTarget.Global);
    await cfg.update('benchmark.maxTokens', 4, vscode!.ConfigurationTarget.Global);
    try {
      // The argument names the scenario; without one the command asks (a quick pick).
      const report = await vscode!.commands.executeCommand<{ results: unknown[]; speedup: Record<string, number> }>('mlxBatch.runBenchmark', 'throughput');
      assert.ok(report, 'a report');
      assert.equal(report.results.length, 4);
      const run = api.benchmark.runs()[0];
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlx-bench-'));
      const md = await api.benchmark.export(run.id, 'markdown', vscode!.Uri.file(path.join(dir, 'b.md')));
      assert.match(fs.readFileSync(md!.fsPath, 'utf8'), /\| 2 \| batched \|/);
    } finally {
      await cfg.update('benchmark.concurrency', undefined, vscode!.ConfigurationTarget.Global);
      await cfg.update('benchmark.maxTokens', undefined, vscode!.ConfigurationTarget.Global);
    }
  });

  it('runs the editor benchmark scenario, keeps it beside the throughput run, draws and exports it', async () => {
    const cfg = vscode!.workspace.getConfiguration('mlxBatch');
    await cfg.update('benchmark.editorDurationS', 5, vscode!.ConfigurationTarget.Global);
    await cfg.update('benchmark.editorChats', 1, vscode!.ConfigurationTarget.Global);
    try {
      const report = await vscode!.commands.executeCommand<BenchmarkReport | EditorBenchmarkReport | undefined>('mlxBatch.runBenchmark', 'editor');
      assert.ok(report && isEditorReport(report), 'an editor report');
      assert.deepEqual(report.modes.map((m) => m.mode), [...EDITOR_BENCHMARK_MODES]);
      assert.equal(report.trace.durationS, 5);
      const run = api.benchmark.runs()[0];
      assert.equal(run.report.startedAt, report.startedAt);
      assert.ok(api.benchmark.runs().some((r) => !isEditorReport(r.report)), 'the throughput run is still in the history');
      // The results view tells the extension which run it drew, or why it could not.
      const shown = await waitFor('the results view to draw the editor run', () => (api.benchmark.shown?.runId === run.id ? api.benchmark.shown : undefined), 60_000);
      assert.equal(shown.error, undefined);
      assert.equal(shown.scenario, 'editor');
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlx-bench-'));
      const md = fs.readFileSync((await api.benchmark.export(run.id, 'markdown', vscode!.Uri.file(path.join(dir, 'editor.md'))))!.fsPath, 'utf8');
      assert.match(md, /\| Measure \| sequential \| batched \| batched-priority \|/);
      assert.ok(md.includes(`**Verdict:** ${report.verdict.text}`));
    } finally {
      await cfg.update('benchmark.editorDurationS', undefined, vscode!.ConfigurationTarget.Global);
      await cfg.update('benchmark.editorChats', undefined, vscode!.ConfigurationTarget.Global);
    }
  });

  it('restarts a server that was killed, and completions work again', async () => {
    const pid = api.backend.pid;
    assert.ok(pid);
    process.kill(pid, 'SIGKILL');
    await waitForReady(api, 'a restarted server', { notPid: pid });
    api.completions.pipeline.cache.clear();
    const doc = await vscode!.workspace.openTextDocument({ language: 'typescript', content: 'const greeting = \n' });
    const items = await api.completions.provider.provideInlineCompletionItems(doc, new vscode!.Position(0, 17), { triggerKind: vscode!.InlineCompletionTriggerKind.Invoke, selectedCompletionInfo: undefined }, new vscode!.CancellationTokenSource().token);
    assert.ok(items && items.length === 1);
  });
});
