import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { comparisonRows, reportMarkdown, tableCells } from '../../../src/extension/benchmark/report-table';
import { addRun, sanitizeRuns } from '../../../src/extension/benchmark/runs';
import { ChatStore, MAX_CHATS, sanitizeChatState, type ChatState } from '../../../src/extension/chat/chat-store';
import { contextBlock, MAX_CONTEXT_CHARS } from '../../../src/extension/chat/editor-context';
import { listLocalModels, modelFolderProblem, hubDir } from '../../../src/extension/models/hf-scan';
import { statusView } from '../../../src/extension/status/status-view';
import { webviewHtml } from '../../../src/extension/webview/html';
import type { BenchmarkReport, BenchmarkRow, LiveStats } from '../../../src/shared/protocol';

function row(mode: 'sequential' | 'batched', concurrency: number, tps: number): BenchmarkRow {
  return {
    mode, concurrency, requests: concurrency * 2, totalTokens: 100, wallMs: 1000, tokensPerSecond: tps,
    latencyMs: { avg: 100, p50: 90, p90: 150, p99: 200 }, ttftMs: { avg: 10, p50: 9, p99: 20 }, interTokenMs: { avg: 5, p50: 5, p99: 9 }, peakMemoryMb: 100,
  };
}

const report: BenchmarkReport = {
  model: 'tiny', startedAt: '2025-01-02T03:04:05.000Z', maxTokens: 32,
  machine: { platform: 'linux', arch: 'x64', cpus: 2, cpuModel: 'Test CPU', memoryGb: 24, backend: 'cpu' },
  results: [row('sequential', 4, 40), row('batched', 4, 120), row('sequential', 1, 40), row('batched', 1, 41)],
  speedup: { 4: 3 },
};

describe('extension status bar view', () => {
  const stats: LiveStats = { running: 3, waiting: 1, max_batch: 8, batching: true, tokens_per_second: 123.4, memory_mb: 900, requests_total: 10 };
  it('shows loading progress, errors, and the live batch when ready', () => {
    assert.match(statusView({ state: 'starting', progress: 0.42, message: 'weights' }, undefined, undefined).text, /42%/);
    const err = statusView({ state: 'error', message: 'model folder missing' }, undefined, undefined);
    assert.equal(err.severity, 'error');
    assert.match(err.tooltip, /model folder missing/);
    const ready = statusView({ state: 'ready', url: 'http://127.0.0.1:1', model: 'tiny', remote: false }, stats, true);
    assert.equal(ready.text, '$(layers) MLX 3/8 · 123 tok/s');
    assert.equal(ready.accessibilityLabel, 'MLX Batch: ready, batching on, 3 of 8 running, 123 tokens per second');
    assert.match(ready.tooltip, /click to toggle/);
    const off = statusView({ state: 'ready', url: 'u', model: 'tiny', remote: false }, { ...stats, batching: false, running: 1 }, true);
    assert.match(off.accessibilityLabel, /batching off/);
    assert.equal(off.severity, 'warning');
  });

  it('shows in the tooltip how many draft tokens speculative decoding got accepted', () => {
    const ready = { state: 'ready', url: 'u', model: 'tiny', remote: false } as const;
    assert.doesNotMatch(statusView(ready, stats, true).tooltip, /Speculative/, 'a server that does not report it');
    assert.match(statusView(ready, { ...stats, speculative: false }, true).tooltip, /Speculative decoding: off/);
    assert.match(statusView(ready, { ...stats, speculative: true, draft_tokens: 0, draft_accepted: 0 }, true).tooltip, /no drafts checked yet/);
    assert.match(statusView(ready, { ...stats, speculative: true, draft_tokens: 1200, draft_accepted: 450 }, true).tooltip, /Speculative decoding: 38% of 1,200 draft tokens accepted/);
  });
});

describe('extension benchmark report table', () => {
  it('pairs modes per concurrency with the speed-up, sorted', () => {
    const rows = comparisonRows(report);
    assert.deepEqual(rows.map((r) => r.concurrency), [1, 4]);
    assert.equal(rows[1].speedup, 3);
    assert.ok(Math.abs((rows[0].speedup ?? 0) - 41 / 40) < 1e-9, 'computed when the report lacks it');
    assert.deepEqual(tableCells(rows[1])[1], ['4', 'batched', '120.0', '100', '90.0', '200', '10.0', '20.0', '3.00×']);
  });

  it('exports Markdown with the model, machine and every row', () => {
    const md = reportMarkdown(report);
    assert.match(md, /Model: tiny/);
    assert.match(md, /Test CPU, 2 CPUs, 24 GB/);
    assert.equal(md.split('\n').filter((l) => l.startsWith('| 1 ') || l.startsWith('| 4 ')).length, 4);
  });

  it('keeps the newest runs and drops malformed stored ones', () => {
    let runs = addRun([], { id: 'a', report }, 2);
    runs = addRun(runs, { id: 'b', report }, 2);
    runs = addRun(runs, { id: 'c', report }, 2);
    assert.deepEqual(runs.map((r) => r.id), ['c', 'b']);
    assert.deepEqual(sanitizeRuns([{ id: 'x' }, null, { id: 'y', report }, 'z']).map((r) => r.id), ['y']);
    assert.deepEqual(sanitizeRuns('nope'), []);
  });
});

describe('extension chat store', () => {
  it('keeps chats, titles and the active chat, and saves on every change', () => {
    const saved: ChatState[] = [];
    const s = new ChatStore(undefined, (st) => saved.push(JSON.parse(JSON.stringify(st))));
    const first = s.active().id;
    s.addUser(first, 'How do I reverse a list in Python?', { label: 'a.py:1-2', text: '```python\nx\n```' });
    s.append(first, 'Use ');
    s.append(first, '`reversed`.');
    s.finish(first, {});
    const second = s.create().id;
    assert.notEqual(second, first);
    assert.equal(s.create().id, second, 'an empty active chat is reused');
    assert.equal(s.activeId, second);
    const restored = new ChatStore(saved.at(-1), () => undefined);
    assert.equal(restored.get(first)?.title, 'How do I reverse a list in Python?');
    assert.equal(restored.get(first)?.messages[1].content, 'Use `reversed`.');
    assert.equal(restored.activeId, second);
  });

  it('builds request messages with the system prompt and context, skipping failed answers', () => {
    const s = new ChatStore(undefined, () => undefined);
    const id = s.active().id;
    s.addUser(id, 'first', undefined);
    s.finish(id, { error: 'boom' });
    s.addUser(id, 'second', { label: 'f.ts', text: 'CONTEXT' });
    assert.deepEqual(s.requestMessages(id, 'SYS'), [
      { role: 'system', content: 'SYS' },
      { role: 'user', content: 'first' },
      { role: 'user', content: 'CONTEXT\n\nsecond' },
    ]);
  });

  it('sanitises stored state and bounds the number of chats', () => {
    const st = sanitizeChatState({ chats: [{ id: 'a', messages: [{ role: 'user', content: 'x' }, { role: 'evil', content: 1 }] }, 'junk'], activeId: 'gone' });
    assert.equal(st.chats.length, 1);
    assert.equal(st.chats[0].messages.length, 1);
    assert.equal(st.activeId, 'a');
    // 36 chats made (q0 .. q34, then an empty one): the 30 newest stay, the oldest go first.
    const s = new ChatStore(undefined, () => undefined);
    for (let i = 0; i < MAX_CHATS + 5; i++) {
      s.addUser(s.active().id, `q${i}`);
      s.create();
    }
    const titles = s.summaries(() => false).map((c) => c.title);
    assert.deepEqual(titles, [...Array.from({ length: MAX_CHATS - 1 }, (_, i) => `q${i + 6}`), 'New chat']);
    assert.equal(s.active().title, 'New chat');
    // A chat still streaming is not dropped: the next oldest goes instead.
    const streaming = s.summaries(() => false)[0].id;
    s.addUser(s.active().id, 'q35');
    s.create((id) => id === streaming);
    const after = s.summaries(() => false).map((c) => c.title);
    assert.deepEqual(after, ['q6', ...Array.from({ length: MAX_CHATS - 3 }, (_, i) => `q${i + 8}`), 'q35', 'New chat']);
    // Stored state longer than the bound keeps its newest MAX_CHATS chats.
    const stored = Array.from({ length: MAX_CHATS + 10 }, (_, i) => ({ id: `id${i}`, title: `t${i}`, messages: [] }));
    assert.deepEqual(sanitizeChatState({ chats: stored }).chats.map((c) => c.id), stored.slice(10).map((c) => c.id));
  });
});

describe('extension editor context and webview shell', () => {
  it('labels a selection with its lines and bounds its size', () => {
    const c = contextBlock({ path: 'src/a.ts', languageId: 'typescript', text: 'let a = 1;', startLine: 3, endLine: 3, kind: 'selection' });
    assert.equal(c.label, 'src/a.ts:3-3');
    assert.match(c.text, /```typescript\nlet a = 1;\n```/);
    const big = contextBlock({ path: 'b.py', languageId: 'python', text: 'x'.repeat(MAX_CONTEXT_CHARS + 10), startLine: 1, endLine: 1, kind: 'file' });
    assert.match(big.label, /truncated/);
    assert.ok(big.text.length < MAX_CONTEXT_CHARS + 100);
  });

  it('writes a CSP that allows only nonce scripts and extension resources', () => {
    const html = webviewHtml({ cspSource: 'vscode-resource:', nonce: 'N0nce', title: 'T<', scriptUri: 'vscode-resource:/x.js', styleUris: ['vscode-resource:/a.css'], body: '<div id="app"></div>' });
    assert.match(html, /default-src 'none'/);
    assert.match(html, /script-src 'nonce-N0nce'/);
    assert.match(html, /<script nonce="N0nce" src="vscode-resource:\/x.js">/);
    assert.doesNotMatch(html, /https?:\/\//);
    assert.match(html, /<title>T&#60;<\/title>/);
  });
});

describe('extension HF cache scan', () => {
  it('lists MLX-layout models, mlx-community first, using refs/main', () => {
    const hub = fs.mkdtempSync(path.join(os.tmpdir(), 'mlx-hub-'));
    const make = (repo: string, rev: string, files: Record<string, string>, ref = true) => {
      const dir = path.join(hub, `models--${repo.replace('/', '--')}`);
      fs.mkdirSync(path.join(dir, 'snapshots', rev), { recursive: true });
      if (ref) {
        fs.mkdirSync(path.join(dir, 'refs'), { recursive: true });
        fs.writeFileSync(path.join(dir, 'refs', 'main'), rev);
      }
      for (const [f, t] of Object.entries(files)) fs.writeFileSync(path.join(dir, 'snapshots', rev, f), t);
    };
    const ok = { 'config.json': '{"model_type":"qwen2","quantization":{"bits":4,"group_size":64}}', 'model.safetensors': '', 'tokenizer.json': '{}' };
    make('zed/Other', 'r1', { ...ok, 'config.json': '{"model_type":"llama"}' });
    make('mlx-community/Coder', 'r2', ok);
    make('mlx-community/NoTokenizer', 'r3', { 'config.json': '{"model_type":"llama"}', 'model.safetensors': '' });
    make('mlx-community/NoRef', 'r4', ok, false);
    fs.mkdirSync(path.join(hub, 'datasets--x--y'));
    const list = listLocalModels(hub);
    assert.deepEqual(list.map((m) => [m.id, m.modelType, m.quantization]), [
      ['mlx-community/Coder', 'qwen2', '4-bit'], ['mlx-community/NoRef', 'qwen2', '4-bit'], ['zed/Other', 'llama', ''],
    ]);
    assert.equal(list[0].path, path.join(hub, 'models--mlx-community--Coder', 'snapshots', 'r2'));
    assert.match(modelFolderProblem(path.join(hub, 'models--mlx-community--NoTokenizer', 'snapshots', 'r3')) ?? '', /tokenizer.json/);
    assert.deepEqual(listLocalModels(path.join(hub, 'missing')), []);
    assert.equal(hubDir({ HF_HOME: '/h' }), path.join('/h', 'hub'));
  });
});
