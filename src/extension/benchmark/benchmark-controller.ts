// "Run Throughput Benchmark": asks which scenario (throughput, or the editor's mix of
// completions and chats), POST /v1/benchmark with a cancellable progress notification, then the
// results webview. Runs of both scenarios are kept in globalState for comparison and can be exported.
import * as vscode from 'vscode';
import { BENCHMARK_SCENARIOS, isEditorReport, type BenchmarkScenario } from '../../shared/protocol';
import type { BenchmarkRun, BenchmarkToExtension, BenchmarkToWebview } from '../../shared/webview-protocol';
import type { Backend } from '../backend';
import { describeError, isAbort } from '../client/api-error';
import type { Settings } from '../settings';
import { bundleHtml, webviewRoots } from '../webview/assets';
import { addRun, exportText, sanitizeRuns } from './runs';
import { benchmarkRequest, editorProgress, isScenario, pickSourceFiles, SCENARIO_LABELS } from './scenarios';

const RUNS_KEY = 'mlxBatch.benchmarkRuns';
export const BENCHMARK_PANEL_TYPE = 'mlxBatch.benchmarkResults';

export class BenchmarkController implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private selectedId = '';
  private running = false;
  private shownRun: { runId: string; scenario: BenchmarkScenario; error?: string } | undefined;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly backend: Backend,
    private readonly settings: () => Settings,
    private readonly output: vscode.LogOutputChannel,
  ) {}

  runs(): BenchmarkRun[] {
    return sanitizeRuns(this.context.globalState.get(RUNS_KEY));
  }

  /** The run the results view last drew, or failed to (what a test can see of the webview). */
  get shown(): { runId: string; scenario: BenchmarkScenario; error?: string } | undefined {
    return this.shownRun;
  }

  /**
   * Runs a scenario (asked for when not given, e.g. from the command palette); resolves with the
   * report, or undefined if the question was dismissed or the run cancelled or failed.
   */
  async run(scenario?: unknown): Promise<BenchmarkRun['report'] | undefined> {
    if (this.running) {
      void vscode.window.showInformationMessage('MLX Batch: a benchmark is already running.');
      return undefined;
    }
    this.running = true;
    try {
      const chosen = isScenario(scenario) ? scenario : await this.pickScenario();
      if (!chosen) return undefined;
      return await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `MLX Batch: ${chosen} benchmark`, cancellable: true },
        (progress, token) => this.runWithProgress(chosen, progress, token),
      );
    } finally {
      this.running = false;
    }
  }

  private async pickScenario(): Promise<BenchmarkScenario | undefined> {
    const items = BENCHMARK_SCENARIOS.map((scenario) => ({ label: SCENARIO_LABELS[scenario].label, description: SCENARIO_LABELS[scenario].detail, scenario }));
    const picked = await vscode.window.showQuickPick(items, { title: 'MLX Batch: benchmark scenario', placeHolder: 'Which benchmark to run' });
    return picked?.scenario;
  }

  private async runWithProgress(scenario: BenchmarkScenario, progress: vscode.Progress<{ message?: string; increment?: number }>, token: vscode.CancellationToken): Promise<BenchmarkRun['report'] | undefined> {
    progress.report({ message: 'waiting for the model server…' });
    const client = await this.backend.client();
    if (!client) {
      void vscode.window.showErrorMessage('MLX Batch: the model server is not available, so the benchmark cannot run.', 'Show logs').then((c) => { if (c) this.output.show(); });
      return undefined;
    }
    const s = this.settings().benchmark;
    const abort = new AbortController();
    const sub = token.onCancellationRequested(() => abort.abort());
    const steps = s.concurrency.length * 2;
    const finished = new Set<string>();
    let reported = 0;
    const advance = (message: string, pct: number) => {
      progress.report({ message, increment: Math.max(0, pct - reported) });
      reported = Math.max(reported, pct);
    };
    try {
      this.output.info(scenario === 'editor'
        ? `benchmark: editor scenario, ${s.editorChats} chats, a keystroke every ${s.editorTypingMs} ms, ${s.editorDurationS} s per mode`
        : `benchmark: concurrency ${s.concurrency.join(', ')}, ${s.maxTokens} tokens per request`);
      // The editor scenario types in the user's own open files when there are some.
      const files = scenario === 'editor' ? pickSourceFiles(vscode.workspace.textDocuments
        .filter((d) => d.uri.scheme === 'file')
        .map((d) => ({ path: vscode.workspace.asRelativePath(d.uri), languageId: d.languageId, text: d.getText() }))) : [];
      if (files.length > 0) this.output.info(`benchmark: typing in ${files.map((f) => f.path).join(', ')}`);
      for await (const ev of client.benchmark(benchmarkRequest(scenario, s, files), abort.signal)) {
        if (ev.type === 'progress') {
          const key = `${ev.mode}:${ev.concurrency}`;
          if (ev.done >= ev.total) finished.add(key);
          const fraction = (finished.size + (ev.done < ev.total && ev.total > 0 ? ev.done / ev.total : 0)) / steps;
          advance(`${ev.mode}, ${ev.concurrency} at once: ${ev.done}/${ev.total} requests`, Math.min(100, Math.round(fraction * 100)));
        } else if (ev.type === 'editor-progress') {
          const p = editorProgress(ev);
          advance(p.message, p.percent);
        } else if (ev.type === 'error') {
          throw new Error(ev.error.message);
        } else {
          if (isEditorReport(ev.report)) this.output.info(`benchmark: ${ev.report.verdict.text}`);
          await this.store(ev.report);
          this.show();
          return ev.report;
        }
      }
      throw new Error('the server ended the benchmark stream without a result');
    } catch (e) {
      if (isAbort(e) || abort.signal.aborted) {
        this.output.info('benchmark cancelled');
        return undefined;
      }
      this.output.error(`benchmark failed: ${describeError(e)}`);
      void vscode.window.showErrorMessage(`MLX Batch: benchmark failed: ${describeError(e)}`);
      return undefined;
    } finally {
      sub.dispose();
    }
  }

  private async store(report: BenchmarkRun['report']): Promise<void> {
    const run: BenchmarkRun = { id: `${Date.parse(report.startedAt) || Date.now()}-${Math.random().toString(36).slice(2, 6)}`, report };
    await this.context.globalState.update(RUNS_KEY, addRun(this.runs(), run, this.settings().benchmark.keepRuns));
    this.selectedId = run.id;
  }

  /** Opens (or reveals) the results view. */
  show(): void {
    if (this.panel) {
      this.panel.reveal(undefined, false);
      this.postRuns();
      return;
    }
    const panel = vscode.window.createWebviewPanel(BENCHMARK_PANEL_TYPE, 'MLX Batch Benchmark', vscode.ViewColumn.Active, {
      enableScripts: true,
      retainContextWhenHidden: true,
      localResourceRoots: webviewRoots(this.context.extensionUri),
    });
    panel.webview.html = bundleHtml(panel.webview, this.context.extensionUri, 'benchmark', 'MLX Batch Benchmark',
      '<main id="app" data-testid="benchmark-app"></main>');
    panel.webview.onDidReceiveMessage((m: BenchmarkToExtension) => void this.onMessage(m));
    panel.onDidDispose(() => { this.panel = undefined; });
    this.panel = panel;
  }

  /** Writes a run to `uri` (tests) or to a file the user picks. */
  async export(runId: string, format: 'json' | 'markdown', uri?: vscode.Uri): Promise<vscode.Uri | undefined> {
    const run = this.runs().find((r) => r.id === runId);
    if (!run) return undefined;
    const ext = format === 'json' ? 'json' : 'md';
    const stamp = run.report.startedAt.replace(/[:.]/g, '-').slice(0, 19);
    const base = vscode.workspace.workspaceFolders?.[0]?.uri ?? vscode.Uri.file(this.context.globalStorageUri.fsPath);
    const target = uri ?? await vscode.window.showSaveDialog({
      defaultUri: vscode.Uri.joinPath(base, `mlx-batch-benchmark${isEditorReport(run.report) ? '-editor' : ''}-${stamp}.${ext}`),
      filters: format === 'json' ? { JSON: ['json'] } : { Markdown: ['md'] },
      saveLabel: 'Export',
    });
    if (!target) return undefined;
    const text = exportText(run.report, format);
    await vscode.workspace.fs.writeFile(target, new TextEncoder().encode(text));
    if (!uri) void vscode.window.showInformationMessage(`MLX Batch: benchmark exported to ${target.fsPath}`);
    return target;
  }

  dispose(): void {
    this.panel?.dispose();
  }

  private async onMessage(m: BenchmarkToExtension): Promise<void> {
    switch (m.type) {
      case 'ready':
        this.postRuns();
        break;
      case 'export':
        await this.export(m.runId, m.format);
        break;
      case 'rerun':
        await this.run(m.scenario);
        break;
      case 'shown':
        this.shownRun = { runId: m.runId, scenario: m.scenario, error: m.error };
        if (m.error) this.output.error(`benchmark view: could not draw the ${m.scenario} run ${m.runId}: ${m.error}`);
        break;
      case 'clearHistory': {
        const keep = this.runs().filter((r) => r.id === this.selectedId);
        await this.context.globalState.update(RUNS_KEY, keep);
        this.postRuns();
        break;
      }
    }
  }

  private postRuns(): void {
    const runs = this.runs();
    if (!runs.some((r) => r.id === this.selectedId)) this.selectedId = runs[0]?.id ?? '';
    const msg: BenchmarkToWebview = { type: 'runs', runs, selectedId: this.selectedId };
    void this.panel?.webview.postMessage(msg);
  }
}
