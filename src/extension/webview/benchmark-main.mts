// The benchmark results webview (bundled to dist/webview/benchmark.js): run picker, export and
// run buttons; a throughput run as its comparison table and Chart.js charts (tok/s vs
// concurrency; latency percentiles), an editor run as its verdict, its modes side by side and
// two SVG charts (completion TTFT CDF, chat tok/s).
import { Chart, registerables, type ChartConfiguration } from 'chart.js';
import { BENCHMARK_SCENARIOS, isEditorReport, type BenchmarkReport, type EditorBenchmarkReport } from '../../shared/protocol.js';
import type { BenchmarkRun, BenchmarkToExtension, BenchmarkToWebview } from '../../shared/webview-protocol.js';
import { chatThroughputChart, completionTtftCdf, type SvgNode } from '../benchmark/editor-charts.js';
import { EDITOR_COLUMNS, editorTableRows, traceLine } from '../benchmark/editor-report.js';
import { COLUMNS, comparisonRows, fmt, machineLine, tableCells } from '../benchmark/report-table.js';
import { comparableRuns } from '../benchmark/runs.js';
import { SCENARIO_LABELS, scenarioOf } from '../benchmark/scenarios.js';
import { vscodeApi } from './vscode-api.mjs';

Chart.register(...registerables);
const vscode = vscodeApi<{ selectedId?: string; compareId?: string }>();
const post = (m: BenchmarkToExtension) => vscode.postMessage(m);

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

const css = getComputedStyle(document.body);
const color = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
const theme = {
  fg: color('--vscode-foreground', '#ccc'),
  grid: color('--vscode-panel-border', 'rgba(128,128,128,0.3)'),
  seq: color('--vscode-charts-orange', '#d18616'),
  bat: color('--vscode-charts-blue', '#3794ff'),
  seq2: color('--vscode-charts-yellow', '#cca700'),
  bat2: color('--vscode-charts-green', '#89d185'),
  font: css.getPropertyValue('--vscode-font-family').trim() || 'sans-serif',
};
Chart.defaults.color = theme.fg;
Chart.defaults.borderColor = theme.grid;
Chart.defaults.font.family = theme.font;
Chart.defaults.animation = false;

const app = document.getElementById('app')!;
const toolbar = el('div', { class: 'toolbar' });
const runSelect = el('select', { id: 'run-select', 'aria-label': 'Run' });
const compareSelect = el('select', { id: 'compare-select', 'aria-label': 'Compare with' });
const exportJson = el('button', { id: 'export-json', type: 'button', 'aria-label': 'Export JSON' }, 'Export JSON');
const exportMd = el('button', { id: 'export-markdown', type: 'button', 'aria-label': 'Export Markdown' }, 'Export Markdown');
const runButtons = BENCHMARK_SCENARIOS.map((scenario) => {
  const { label, detail } = SCENARIO_LABELS[scenario];
  const b = el('button', { id: `run-${scenario}`, type: 'button', 'aria-label': `Run the ${label} benchmark (${detail})`, title: detail, class: 'secondary' }, `Run ${label} benchmark`);
  b.addEventListener('click', () => post({ type: 'rerun', scenario }));
  return b;
});
const clear = el('button', { id: 'clear-history', type: 'button', 'aria-label': 'Clear history', class: 'secondary' }, 'Clear history');
const compareBox = el('span', { class: 'compare' });
compareBox.append(el('label', { for: 'compare-select' }, ' compare with '), compareSelect);
toolbar.append(el('label', { for: 'run-select' }, 'Run '), runSelect, compareBox, exportJson, exportMd, ...runButtons, clear);
const info = el('section', { id: 'run-info', 'aria-label': 'Model and machine' });
const throughputView = el('section', { id: 'throughput-view', 'aria-label': 'Throughput benchmark' });
const summary = el('p', { id: 'speedup-summary', class: 'summary' });
const table = el('table', { id: 'results-table', 'aria-label': 'Benchmark results' });
const charts = el('div', { class: 'charts' });
const throughputBox = el('figure', {});
const throughputCanvas = el('canvas', { id: 'chart-throughput', role: 'img', 'aria-label': 'Tokens per second against concurrency, sequential and batched' });
throughputBox.append(throughputCanvas, el('figcaption', {}, 'Throughput (tok/s) against concurrency'));
const latencyBox = el('figure', {});
const latencyCanvas = el('canvas', { id: 'chart-latency', role: 'img', 'aria-label': 'Request latency percentiles by concurrency' });
latencyBox.append(latencyCanvas, el('figcaption', {}, 'Latency percentiles (ms): p50 and p99'));
charts.append(throughputBox, latencyBox);
throughputView.append(summary, table, charts);

const editorView = el('section', { id: 'editor-view', 'aria-label': 'Editor benchmark: completions while chats stream' });
const verdict = el('p', { id: 'editor-verdict', class: 'summary' });
const editorTable = el('table', { id: 'editor-table', 'aria-label': 'Editor benchmark by mode' });
const editorCharts = el('div', { class: 'charts' });
const ttftBox = el('figure', { class: 'svg-figure' });
const chatBox = el('figure', { class: 'svg-figure' });
editorCharts.append(ttftBox, chatBox);
editorView.append(verdict, editorTable, editorCharts);

const empty = el('p', { id: 'no-runs', class: 'empty' }, 'No benchmark yet. Run "MLX Batch: Run Throughput Benchmark" or a button above.');
app.append(toolbar, info, throughputView, editorView, empty);

let runs: BenchmarkRun[] = [];
let selectedId = '';
let compareId = vscode.getState()?.compareId ?? '';
let throughputChart: Chart | undefined;
let latencyChart: Chart | undefined;

const label = (r: BenchmarkRun) => `${new Date(r.report.startedAt).toLocaleString()} — ${scenarioOf(r.report)} — ${r.report.model}`;

function renderSelects(shown: BenchmarkRun): void {
  runSelect.replaceChildren(...runs.map((r) => el('option', { value: r.id }, label(r))));
  runSelect.value = selectedId;
  const comparable = comparableRuns(runs, shown);
  compareSelect.replaceChildren(el('option', { value: '' }, 'none'), ...comparable.map((r) => el('option', { value: r.id }, label(r))));
  if (!comparable.some((r) => r.id === compareId)) compareId = '';
  compareSelect.value = compareId;
  compareBox.toggleAttribute('hidden', isEditorReport(shown.report));
}

function renderInfo(report: BenchmarkRun['report'], detail: string): void {
  info.replaceChildren(
    el('div', { id: 'model-info' }, `Model: ${report.model}`),
    el('div', { id: 'machine-info' }, `Machine: ${machineLine(report)}`),
    el('div', {}, `Started ${new Date(report.startedAt).toLocaleString()}, ${detail}`),
  );
}

function renderSummary(report: BenchmarkReport): void {
  const rows = comparisonRows(report).filter((r) => r.speedup !== undefined);
  const best = rows.reduce<(typeof rows)[number] | undefined>((b, r) => (!b || (r.speedup ?? 0) > (b.speedup ?? 0) ? r : b), undefined);
  summary.textContent = best ? `Batching is ${fmt(best.speedup, 2)}× faster than sequential at ${best.concurrency} concurrent requests.` : '';
}

/** A table head of one row of column headers. */
function tableHead(columns: readonly string[]): HTMLTableSectionElement {
  const head = el('thead');
  const hr = el('tr');
  for (const c of columns) hr.append(el('th', { scope: 'col' }, c));
  head.append(hr);
  return head;
}

function renderTable(report: BenchmarkReport): void {
  const head = tableHead(COLUMNS);
  const body = el('tbody');
  for (const row of comparisonRows(report)) {
    for (const cells of tableCells(row)) {
      const tr = el('tr', { 'data-mode': cells[1], 'data-concurrency': cells[0] });
      cells.forEach((c, i) => tr.append(el(i < 2 ? 'th' : 'td', i < 2 ? { scope: 'row' } : {}, c)));
      body.append(tr);
    }
  }
  table.replaceChildren(head, body);
}

function series(report: BenchmarkReport, mode: 'sequential' | 'batched', pick: (r: NonNullable<ReturnType<typeof comparisonRows>[number]['batched']>) => number) {
  return comparisonRows(report).filter((r) => r[mode]).map((r) => ({ x: r.concurrency, y: pick(r[mode]!) }));
}

function renderCharts(report: BenchmarkReport, compare: BenchmarkReport | undefined): void {
  const tps = (r: { tokensPerSecond: number }) => r.tokensPerSecond;
  const datasets: ChartConfiguration<'line'>['data']['datasets'] = [
    { label: 'batched', data: series(report, 'batched', tps), borderColor: theme.bat, backgroundColor: theme.bat },
    { label: 'sequential', data: series(report, 'sequential', tps), borderColor: theme.seq, backgroundColor: theme.seq },
  ];
  if (compare) {
    datasets.push(
      { label: 'batched (compared run)', data: series(compare, 'batched', tps), borderColor: theme.bat2, backgroundColor: theme.bat2, borderDash: [6, 4] },
      { label: 'sequential (compared run)', data: series(compare, 'sequential', tps), borderColor: theme.seq2, backgroundColor: theme.seq2, borderDash: [6, 4] },
    );
  }
  throughputChart?.destroy();
  throughputChart = new Chart(throughputCanvas, {
    type: 'line',
    data: { datasets },
    options: {
      responsive: true, maintainAspectRatio: false, parsing: false,
      scales: { x: { type: 'linear', title: { display: true, text: 'concurrent requests' }, ticks: { stepSize: 1 } }, y: { beginAtZero: true, title: { display: true, text: 'tokens/s' } } },
    },
  });
  const rows = comparisonRows(report);
  const bar = (mode: 'sequential' | 'batched', p: 'p50' | 'p99', c: string) => ({
    label: `${mode} ${p}`, data: rows.map((r) => r[mode]?.latencyMs[p] ?? null), backgroundColor: c, borderColor: c,
    ...(p === 'p99' ? { borderWidth: 2, backgroundColor: 'transparent' } : {}),
  });
  latencyChart?.destroy();
  latencyChart = new Chart(latencyCanvas, {
    type: 'bar',
    data: { labels: rows.map((r) => String(r.concurrency)), datasets: [bar('sequential', 'p50', theme.seq), bar('sequential', 'p99', theme.seq), bar('batched', 'p50', theme.bat), bar('batched', 'p99', theme.bat)] },
    options: { responsive: true, maintainAspectRatio: false, scales: { x: { title: { display: true, text: 'concurrent requests' } }, y: { beginAtZero: true, title: { display: true, text: 'latency (ms)' } } } },
  });
}

const SVG_NS = 'http://www.w3.org/2000/svg';
function svg(node: SvgNode): SVGElement {
  const e = document.createElementNS(SVG_NS, node.tag);
  for (const [k, v] of Object.entries(node.attrs)) e.setAttribute(k, String(v));
  for (const c of node.children) e.append(typeof c === 'string' ? document.createTextNode(c) : svg(c));
  return e;
}

function renderEditor(report: EditorBenchmarkReport): void {
  verdict.textContent = report.verdict.text;
  const head = tableHead(EDITOR_COLUMNS);
  const body = el('tbody');
  for (const row of editorTableRows(report)) {
    const tr = el('tr', { 'data-metric': row.key });
    tr.append(el('th', { scope: 'row' }, row.label), ...row.cells.map((c, i) => el('td', { 'data-mode': EDITOR_COLUMNS[i + 1] }, c)));
    body.append(tr);
  }
  editorTable.replaceChildren(head, body);
  ttftBox.replaceChildren(svg(completionTtftCdf(report)), el('figcaption', {}, 'Completions served within a time to first token (CDF)'));
  chatBox.replaceChildren(svg(chatThroughputChart(report)), el('figcaption', {}, 'Chat tokens per second'));
}

function render(): void {
  const run = runs.find((r) => r.id === selectedId) ?? runs[0];
  const has = !!run;
  for (const e of [info, exportJson, exportMd, runSelect, compareBox, clear]) e.toggleAttribute('hidden', !has);
  empty.toggleAttribute('hidden', has);
  app.dataset.ready = 'false';
  if (!run) {
    throughputView.toggleAttribute('hidden', true);
    editorView.toggleAttribute('hidden', true);
    return;
  }
  selectedId = run.id;
  const scenario = scenarioOf(run.report);
  throughputView.toggleAttribute('hidden', scenario !== 'throughput');
  editorView.toggleAttribute('hidden', scenario !== 'editor');
  try {
    renderSelects(run);
    if (isEditorReport(run.report)) {
      renderInfo(run.report, `trace: ${traceLine(run.report)}`);
      renderEditor(run.report);
    } else {
      renderInfo(run.report, `${run.report.maxTokens} tokens per request`);
      renderSummary(run.report);
      renderTable(run.report);
      const compare = runs.find((r) => r.id === compareId)?.report;
      renderCharts(run.report, compare && !isEditorReport(compare) ? compare : undefined);
    }
  } catch (e) {
    post({ type: 'shown', runId: run.id, scenario, error: e instanceof Error ? e.message : String(e) });
    return;
  }
  app.dataset.ready = 'true';
  app.dataset.runId = run.id;
  app.dataset.scenario = scenario;
  vscode.setState({ selectedId, compareId });
  post({ type: 'shown', runId: run.id, scenario });
}

window.addEventListener('message', (event: MessageEvent<BenchmarkToWebview>) => {
  if (event.data.type !== 'runs') return;
  runs = event.data.runs;
  selectedId = event.data.selectedId;
  render();
});
runSelect.addEventListener('change', () => { selectedId = runSelect.value; render(); });
compareSelect.addEventListener('change', () => { compareId = compareSelect.value; render(); });
exportJson.addEventListener('click', () => post({ type: 'export', runId: selectedId, format: 'json' }));
exportMd.addEventListener('click', () => post({ type: 'export', runId: selectedId, format: 'markdown' }));
clear.addEventListener('click', () => post({ type: 'clearHistory' }));
post({ type: 'ready' });
