// The benchmark results webview (bundled to dist/webview/benchmark.js): comparison table,
// Chart.js charts (tok/s vs concurrency; latency percentiles), run picker, export buttons.
import { Chart, registerables, type ChartConfiguration } from 'chart.js';
import type { BenchmarkReport } from '../../shared/protocol.js';
import type { BenchmarkRun, BenchmarkToExtension, BenchmarkToWebview } from '../../shared/webview-protocol.js';
import { COLUMNS, comparisonRows, fmt, machineLine, tableCells } from '../benchmark/report-table.js';
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
const rerun = el('button', { id: 'rerun', type: 'button', 'aria-label': 'Run again', class: 'secondary' }, 'Run again');
const clear = el('button', { id: 'clear-history', type: 'button', 'aria-label': 'Clear history', class: 'secondary' }, 'Clear history');
toolbar.append(el('label', { for: 'run-select' }, 'Run '), runSelect, el('label', { for: 'compare-select' }, ' compare with '), compareSelect, exportJson, exportMd, rerun, clear);
const info = el('section', { id: 'run-info', 'aria-label': 'Model and machine' });
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
const empty = el('p', { id: 'no-runs', class: 'empty' }, 'No benchmark yet. Run "MLX Batch: Run Throughput Benchmark".');
app.append(toolbar, info, summary, table, charts, empty);

let runs: BenchmarkRun[] = [];
let selectedId = '';
let compareId = vscode.getState()?.compareId ?? '';
let throughputChart: Chart | undefined;
let latencyChart: Chart | undefined;

const label = (r: BenchmarkRun) => `${new Date(r.report.startedAt).toLocaleString()} — ${r.report.model}`;

function renderSelects(): void {
  runSelect.replaceChildren(...runs.map((r) => el('option', { value: r.id }, label(r))));
  runSelect.value = selectedId;
  compareSelect.replaceChildren(el('option', { value: '' }, 'none'), ...runs.filter((r) => r.id !== selectedId).map((r) => el('option', { value: r.id }, label(r))));
  if (!runs.some((r) => r.id === compareId && r.id !== selectedId)) compareId = '';
  compareSelect.value = compareId;
}

function renderInfo(report: BenchmarkReport): void {
  info.replaceChildren(
    el('div', { id: 'model-info' }, `Model: ${report.model}`),
    el('div', { id: 'machine-info' }, `Machine: ${machineLine(report)}`),
    el('div', {}, `Started ${new Date(report.startedAt).toLocaleString()}, ${report.maxTokens} tokens per request`),
  );
  const rows = comparisonRows(report).filter((r) => r.speedup !== undefined);
  const best = rows.reduce<(typeof rows)[number] | undefined>((b, r) => (!b || (r.speedup ?? 0) > (b.speedup ?? 0) ? r : b), undefined);
  summary.textContent = best ? `Batching is ${fmt(best.speedup, 2)}× faster than sequential at ${best.concurrency} concurrent requests.` : '';
}

function renderTable(report: BenchmarkReport): void {
  const head = el('thead');
  const hr = el('tr');
  for (const c of COLUMNS) hr.append(el('th', { scope: 'col' }, c));
  head.append(hr);
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

function render(): void {
  const run = runs.find((r) => r.id === selectedId) ?? runs[0];
  const has = !!run;
  for (const e of [info, summary, table, charts, exportJson, exportMd, runSelect, compareSelect, clear]) e.toggleAttribute('hidden', !has);
  empty.toggleAttribute('hidden', has);
  app.dataset.ready = 'false';
  if (!run) return;
  selectedId = run.id;
  renderSelects();
  renderInfo(run.report);
  renderTable(run.report);
  renderCharts(run.report, runs.find((r) => r.id === compareId)?.report);
  app.dataset.ready = 'true';
  app.dataset.runId = run.id;
  vscode.setState({ selectedId, compareId });
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
rerun.addEventListener('click', () => post({ type: 'rerun' }));
clear.addEventListener('click', () => post({ type: 'clearHistory' }));
post({ type: 'ready' });
