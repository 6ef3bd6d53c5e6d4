// The editor scenario's report in the extension: the modes side by side, the Markdown export, the
// two charts as SVG trees, the stored runs of both scenarios, the request and progress of a run.
import assert from 'node:assert/strict';
import { chatThroughputBars, chatThroughputChart, cdfSteps, completionTtftCdf, logDomain, type SvgNode } from '../../../src/extension/benchmark/editor-charts';
import { EDITOR_COLUMNS, editorReportMarkdown, editorTableRows, traceLine } from '../../../src/extension/benchmark/editor-report';
import { comparableRuns, exportText, sanitizeRuns } from '../../../src/extension/benchmark/runs';
import { benchmarkRequest, editorProgress, isScenario, pickSourceFiles, scenarioOf } from '../../../src/extension/benchmark/scenarios';
import { sanitizeSettings } from '../../../src/extension/settings';
import type { BenchmarkReport, EditorBenchmarkMode, EditorBenchmarkReport, EditorModeResult } from '../../../src/shared/protocol';
import type { BenchmarkRun } from '../../../src/shared/webview-protocol';

function mode(m: EditorBenchmarkMode, ttft: number[], chatTps: number): EditorModeResult {
  const sorted = [...ttft].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return {
    mode: m, completionsSent: 40, completionsServed: ttft.length, completionsCancelled: 40 - ttft.length,
    completionTtftMs: { p50: at(0.5), p90: at(0.9), p99: at(0.99) }, completionTtftSamplesMs: sorted,
    completionLineMs: { p50: at(0.5) * 2, p90: at(0.9) * 2, p99: at(0.99) * 2 },
    chatTokens: Math.round(chatTps * 60), chatTokensPerSecond: chatTps, chatTtftMs: { p50: 80, p99: 400 }, chatInterTokenMs: { p99: 95.25 },
    peakBatch: m === 'sequential' ? 1 : 3, wallMs: 60_000,
  };
}

// Sequential waits seconds behind the chats; the batched modes answer in tens of ms.
const editor: EditorBenchmarkReport = {
  scenario: 'editor', model: 'tiny', startedAt: '2025-03-04T05:06:07.000Z',
  machine: { platform: 'linux', arch: 'x64', cpus: 2, cpuModel: 'Test CPU', memoryGb: 24, backend: 'cpu' },
  trace: { seed: 1, chats: 2, typingMs: 150, durationS: 60, keystrokes: 400, completions: 40, chatQuestions: 6, files: ['a.ts', 'b.py'] },
  // Not in EDITOR_BENCHMARK_MODES order: the table and charts put them in it.
  modes: [
    mode('batched-priority', [18, 22, 25, 30, 41, 60], 30.5),
    mode('sequential', [900, 1500, 2400, 4100], 14),
    mode('batched', [45, 70, 90, 120, 300], 31.25),
  ],
  verdict: { completionTtftSpeedup: 3.1, chatThroughputSpeedup: 2.2, text: 'with batching and priorities, completions arrive 3.1x sooner while chats stream 2.2x faster' },
};

const throughput: BenchmarkReport = {
  model: 'tiny', startedAt: '2025-01-02T03:04:05.000Z', maxTokens: 32, machine: editor.machine,
  results: [{ mode: 'batched', concurrency: 2, requests: 4, totalTokens: 100, wallMs: 1000, tokensPerSecond: 100,
    latencyMs: { avg: 1, p50: 1, p90: 1, p99: 1 }, ttftMs: { avg: 1, p50: 1, p99: 1 }, interTokenMs: { avg: 1, p50: 1, p99: 1 }, peakMemoryMb: 1 }],
  speedup: { 2: 1.5 },
};

/** Every node of an SVG tree that `pick` accepts, depth first. */
function nodes(n: SvgNode, pick: (n: SvgNode) => boolean): SvgNode[] {
  return [...(pick(n) ? [n] : []), ...n.children.flatMap((c) => (typeof c === 'string' ? [] : nodes(c, pick)))];
}
const points = (line: SvgNode) => String(line.attrs.points).split(' ').map((p) => p.split(',').map(Number) as [number, number]);
const text = (n: SvgNode): string => n.children.map((c) => (typeof c === 'string' ? c : text(c))).join('');

describe('extension editor benchmark: table and Markdown', () => {
  it('puts the three modes side by side in their fixed order, one row per measure', () => {
    assert.deepEqual(EDITOR_COLUMNS, ['Measure', 'sequential', 'batched', 'batched-priority']);
    const rows = editorTableRows(editor);
    const byKey = new Map(rows.map((r) => [r.key, r.cells]));
    assert.deepEqual(byKey.get('completion-ttft-p50'), ['2400', '90.0', '30.0']);
    assert.deepEqual(byKey.get('completions-served'), ['4 / 36', '5 / 35', '6 / 34']);
    assert.deepEqual(byKey.get('chat-tps'), ['14.0', '31.3', '30.5']);
    assert.deepEqual(byKey.get('chat-itl-p99'), ['95.3', '95.3', '95.3']);
    assert.deepEqual(byKey.get('peak-batch'), ['1', '3', '3']);
    assert.deepEqual(rows.map((r) => r.label), [
      'Completion TTFT p50 (ms)', 'Completion TTFT p90 (ms)', 'Completion TTFT p99 (ms)', 'Completions served / cancelled', 'First line p50 (ms)',
      'Chat tok/s', 'Chat TTFT p50 (ms)', 'Chat TTFT p99 (ms)', 'Chat inter-token p99 (ms)', 'Peak batch',
    ]);
  });

  it('shows a dash for a mode the report lacks', () => {
    const rows = editorTableRows({ ...editor, modes: editor.modes.filter((m) => m.mode !== 'batched') });
    for (const r of rows) assert.equal(r.cells[1], '–', r.key);
  });

  it('says what trace was replayed', () => {
    assert.equal(traceLine(editor), 'seed 1, 2 chats, a keystroke every 150 ms for 60 s: 400 keystrokes, 40 asking for a completion, 6 chat questions (a.ts, b.py)');
    assert.match(traceLine({ ...editor, trace: { ...editor.trace, chats: 1, files: [] } }), /^seed 1, 1 chat, .*chat questions$/);
  });

  it('exports Markdown with the model, machine, trace, the modes side by side and the verdict', () => {
    const md = editorReportMarkdown(editor);
    const lines = md.split('\n');
    assert.equal(lines[0], '# mlx-batch editor benchmark');
    assert.ok(lines.includes('- Model: tiny'));
    assert.ok(lines.includes(`- Trace: ${traceLine(editor)}`));
    assert.match(md, /- Machine: Test CPU, 2 CPUs, 24 GB/);
    const table = lines.filter((l) => l.startsWith('|'));
    assert.equal(table[0], '| Measure | sequential | batched | batched-priority |');
    assert.equal(table[1], '|---|---:|---:|---:|');
    assert.equal(table.length, 2 + 10);
    assert.ok(table.includes('| Completion TTFT p50 (ms) | 2400 | 90.0 | 30.0 |'));
    assert.ok(lines.includes(`**Verdict:** ${editor.verdict.text}`));
    assert.ok(md.endsWith('\n'));
  });
});

describe('extension editor benchmark: charts', () => {
  it('turns samples into the corners of a CDF step line', () => {
    assert.deepEqual(cdfSteps([40, 20, 10, 20]), [
      { ms: 10, share: 0 }, { ms: 10, share: 0.25 }, { ms: 20, share: 0.25 }, { ms: 20, share: 0.75 }, { ms: 40, share: 0.75 }, { ms: 40, share: 1 },
    ]);
    assert.deepEqual(cdfSteps([5, Number.NaN, -1, Infinity]), [{ ms: 5, share: 0 }, { ms: 5, share: 1 }]);
    assert.deepEqual(cdfSteps([]), []);
  });

  it('spans the samples with whole decades', () => {
    assert.deepEqual(logDomain([3, 4200]), [1, 10_000]);
    assert.deepEqual(logDomain([18, 60]), [10, 100]);
    assert.deepEqual(logDomain([10]), [10, 100], 'at least one decade');
    assert.deepEqual(logDomain([0, -2, Number.NaN]), [1, 10]);
  });

  it('draws one rising CDF line per mode, the faster mode to the left', () => {
    const chart = completionTtftCdf(editor);
    assert.equal(chart.tag, 'svg');
    assert.equal(chart.attrs.id, 'chart-completion-ttft');
    const lines = nodes(chart, (n) => n.tag === 'polyline');
    assert.deepEqual(lines.map((l) => l.attrs['data-mode']), ['sequential', 'batched', 'batched-priority']);
    const [x0, x1] = [0, 520];
    for (const l of lines) {
      assert.match(String(l.attrs.class), new RegExp(`\\bmode-${String(l.attrs['data-mode'])}\\b`));
      const ps = points(l);
      for (let i = 1; i < ps.length; i++) {
        assert.ok(ps[i][0] >= ps[i - 1][0], `${String(l.attrs['data-mode'])}: x never goes back`);
        assert.ok(ps[i][1] <= ps[i - 1][1], `${String(l.attrs['data-mode'])}: the share never falls (SVG y grows downwards)`);
      }
      for (const [x] of ps) assert.ok(x >= x0 && x <= x1);
      assert.equal(ps.at(-1)![1], ps.at(-2)![1], 'ends level at 100%');
    }
    // Where each line reaches half its completions: batched-priority first, sequential last.
    const half = (l: SvgNode) => {
      const ps = points(l);
      const bottom = ps[0][1];
      const top = ps.at(-1)![1];
      return ps.find(([, y]) => y <= (bottom + top) / 2)![0];
    };
    const [seq, bat, pri] = lines.map(half);
    assert.ok(pri < bat && bat < seq, `half served at x ${pri} < ${bat} < ${seq}`);
    // Log scale: 10 ms to 10 s is three equal decades.
    const ticks = nodes(chart, (n) => n.tag === 'text' && n.attrs.class === 'tick' && /s$/.test(text(n)));
    assert.deepEqual(ticks.map(text), ['10 ms', '100 ms', '1 s', '10 s']);
    const xs = ticks.map((t) => Number(t.attrs.x));
    assert.ok(Math.abs((xs[1] - xs[0]) - (xs[3] - xs[2])) < 0.5, `equal decades: ${xs.join(', ')}`);
  });

  it('names a mode that served no completion in the legend and draws no line for it', () => {
    const none = { ...editor, modes: editor.modes.map((m) => (m.mode === 'sequential' ? { ...m, completionTtftSamplesMs: [], completionsServed: 0 } : m)) };
    const chart = completionTtftCdf(none);
    assert.deepEqual(nodes(chart, (n) => n.tag === 'polyline').map((l) => l.attrs['data-mode']), ['batched', 'batched-priority']);
    assert.ok(nodes(chart, (n) => n.attrs.class === 'legend').map(text).includes('sequential (none served)'));
  });

  it('draws chat tokens per second as bars scaled to the fastest mode', () => {
    const bars = chatThroughputBars(editor);
    assert.deepEqual(bars.map((b) => [b.mode, b.tokensPerSecond]), [['sequential', 14], ['batched', 31.25], ['batched-priority', 30.5]]);
    assert.equal(bars[1].share, 1);
    assert.ok(Math.abs(bars[0].share - 14 / 31.25) < 1e-9);
    const rects = nodes(chatThroughputChart(editor), (n) => n.tag === 'rect');
    assert.deepEqual(rects.map((r) => r.attrs['data-mode']), ['sequential', 'batched', 'batched-priority']);
    const w = rects.map((r) => Number(r.attrs.width));
    assert.ok(w[0] < w[2] && w[2] < w[1], `widths ${w.join(', ')}`);
    assert.deepEqual(chatThroughputBars({ ...editor, modes: [] }).map((b) => b.share), [0, 0, 0]);
  });
});

describe('extension editor benchmark: stored runs, export, request', () => {
  const runs: BenchmarkRun[] = [{ id: 'e1', report: editor }, { id: 't1', report: throughput }, { id: 't2', report: throughput }, { id: 'e2', report: editor }];

  it('loads stored runs of both scenarios, those stored before the editor scenario too, and drops malformed ones', () => {
    // A throughput run stored before there were scenarios, as plain JSON from globalState.
    const old = JSON.parse(JSON.stringify({ id: 'old', report: throughput }));
    const broken = (patch: Record<string, unknown>) => ({ id: `bad-${Object.keys(patch)[0]}`, report: { ...editor, ...patch } });
    const stored = [
      old, { id: 'e', report: JSON.parse(JSON.stringify(editor)) },
      broken({ modes: undefined }), broken({ verdict: {} }), broken({ trace: undefined }), broken({ machine: undefined }),
      broken({ modes: [{ ...editor.modes[0], mode: 'turbo' }] }), broken({ modes: [{ ...editor.modes[0], completionTtftMs: undefined }] }),
      broken({ modes: [{ ...editor.modes[0], completionTtftSamplesMs: 'many' }] }),
      { id: 'claims-editor', report: { ...throughput, scenario: 'editor' } }, { id: 'no-report' }, null,
    ];
    const kept = sanitizeRuns(stored);
    assert.deepEqual(kept.map((r) => r.id), ['old', 'e']);
    assert.deepEqual(kept.map((r) => scenarioOf(r.report)), ['throughput', 'editor']);
  });

  it('compares a throughput run only with other throughput runs, and an editor run with none', () => {
    assert.deepEqual(comparableRuns(runs, runs[1]).map((r) => r.id), ['t2']);
    assert.deepEqual(comparableRuns(runs, runs[0]), []);
  });

  it('exports either scenario: JSON as the server sent it, Markdown for its kind', () => {
    assert.deepEqual(JSON.parse(exportText(editor, 'json')), editor);
    assert.match(exportText(editor, 'markdown'), /^# mlx-batch editor benchmark\n/);
    assert.match(exportText(editor, 'markdown'), /\*\*Verdict:\*\* with batching and priorities/);
    assert.match(exportText(throughput, 'markdown'), /^# mlx-batch throughput benchmark\n/);
  });

  it('sends the editor settings as the editor request and the throughput one as before', () => {
    const s = sanitizeSettings((k) => ({ 'benchmark.editorChats': 3, 'benchmark.editorTypingMs': 90, 'benchmark.editorDurationS': 20, 'benchmark.concurrency': [1, 4] } as Record<string, unknown>)[k]).benchmark;
    assert.deepEqual(benchmarkRequest('editor', s), { scenario: 'editor', chats: 3, typing_ms: 90, duration: 20 });
    assert.deepEqual(benchmarkRequest('throughput', s), { concurrency: [1, 4], max_tokens: 32 });
    const file = { path: 'src/a.ts', text: 'x' };
    assert.deepEqual(benchmarkRequest('editor', s, [file]).files, [file], 'the user\'s files go with an editor run');
    assert.equal(benchmarkRequest('throughput', s, [file]).files, undefined);
    assert.ok(isScenario('editor') && isScenario('throughput'));
    assert.ok(!isScenario('Editor') && !isScenario(undefined) && !isScenario({ scenario: 'editor' }));
  });

  it('tells the progress of an editor run: the mode of three, its seconds, the share of the whole', () => {
    assert.deepEqual(editorProgress({ type: 'editor-progress', mode: 'sequential', elapsedMs: 0, totalMs: 60_000 }), { message: 'sequential (mode 1 of 3): 0 s of 60 s', percent: 0 });
    assert.deepEqual(editorProgress({ type: 'editor-progress', mode: 'batched', elapsedMs: 30_000, totalMs: 60_000 }), { message: 'batched (mode 2 of 3): 30 s of 60 s', percent: 50 });
    assert.equal(editorProgress({ type: 'editor-progress', mode: 'batched-priority', elapsedMs: 61_000, totalMs: 60_000 }).percent, 100, 'a mode running over its time');
    assert.equal(editorProgress({ type: 'editor-progress', mode: 'batched-priority', elapsedMs: 5, totalMs: 0 }).percent, 67);
  });

  it('picks the open code files of a real size for the editor scenario, within the server\'s limits', () => {
    const code = (n: number) => Array.from({ length: n }, (_, i) => `const value${i} = compute(${i});`).join('\n');
    const picked = pickSourceFiles([
      { path: 'README.md', languageId: 'markdown', text: code(20) },
      { path: 'tiny.ts', languageId: 'typescript', text: code(3) },
      { path: 'big.ts', languageId: 'typescript', text: code(3000) },
      { path: 'a.ts', languageId: 'typescript', text: code(20) },
      ...Array.from({ length: 10 }, (_, i) => ({ path: `m${i}.py`, languageId: 'python', text: code(30) })),
    ]);
    assert.deepEqual(picked.map((f) => f.path), ['a.ts', 'm0.py', 'm1.py', 'm2.py', 'm3.py', 'm4.py', 'm5.py', 'm6.py']);
  });
});
