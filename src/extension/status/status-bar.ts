// The status-bar item: backend state, live batch occupancy and tok/s from /v1/stats/stream,
// batching on/off; a click toggles batching on the running server (POST /v1/batching).
import * as vscode from 'vscode';
import type { LiveStats } from '../../shared/protocol';
import type { Backend } from '../backend';
import type { BackendStatus } from '../backend-status';
import { ApiError, describeError, isAbort } from '../client/api-error';
import { statusView } from './status-view';

export const STATUS_ITEM_ID = 'mlxBatch.status';

export class StatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private stats: LiveStats | undefined;
  private batching: boolean | undefined;
  private streamAbort: AbortController | undefined;
  private readonly subs: vscode.Disposable[] = [];

  constructor(private readonly backend: Backend, private readonly output: vscode.LogOutputChannel) {
    this.item = vscode.window.createStatusBarItem(STATUS_ITEM_ID, vscode.StatusBarAlignment.Right, 100);
    this.item.name = 'MLX Batch';
    this.subs.push(backend.onDidChange((s) => this.onBackend(s)));
    this.onBackend(backend.status);
    this.item.show();
  }

  /** Latest stats seen (for tests). */
  get lastStats(): LiveStats | undefined {
    return this.stats;
  }

  /** Toggles batching on the running server and returns the new state. */
  async toggleBatching(): Promise<boolean | undefined> {
    const client = await this.backend.client();
    if (!client) return undefined;
    try {
      const current = this.stats?.batching ?? this.batching ?? (await client.getBatching()).enabled;
      const next = await client.setBatching(!current);
      this.batching = next.enabled;
      if (this.stats) this.stats = { ...this.stats, batching: next.enabled, max_batch: next.max_batch };
      this.render();
      return next.enabled;
    } catch (e) {
      const hint = e instanceof ApiError && e.status === 404 ? ' (this server has no batching switch)' : '';
      void vscode.window.showWarningMessage(`MLX Batch: cannot toggle batching: ${describeError(e)}${hint}`);
      return undefined;
    }
  }

  dispose(): void {
    this.streamAbort?.abort();
    for (const s of this.subs) s.dispose();
    this.item.dispose();
  }

  private onBackend(s: BackendStatus): void {
    this.streamAbort?.abort();
    this.streamAbort = undefined;
    if (s.state === 'ready') {
      this.stats = undefined;
      this.batching = undefined;
      this.streamAbort = new AbortController();
      void this.follow(this.streamAbort.signal);
    }
    this.item.command = s.state === 'ready' ? 'mlxBatch.toggleBatching' : s.state === 'error' ? 'mlxBatch.showLogs' : s.state === 'stopped' ? 'mlxBatch.restartServer' : undefined;
    this.render();
  }

  /** Follows the stats stream while the backend is ready, reconnecting after errors. */
  private async follow(signal: AbortSignal): Promise<void> {
    const client = await this.backend.client();
    if (!client) return;
    try {
      this.batching = (await client.getBatching(signal)).enabled;
      this.render();
    } catch {
      // Servers other than mlx-batch have no batching endpoint.
    }
    for (let failures = 0; !signal.aborted && failures < 20;) {
      try {
        for await (const s of client.stats(signal)) {
          failures = 0;
          this.stats = s;
          this.render();
        }
      } catch (e) {
        if (isAbort(e) || signal.aborted) return;
        if (e instanceof ApiError && e.status === 404) return;
        failures += 1;
        this.output.debug(`stats stream: ${describeError(e)}`);
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  private render(): void {
    const v = statusView(this.backend.status, this.stats, this.batching);
    this.item.text = v.text;
    this.item.tooltip = v.tooltip;
    this.item.accessibilityInformation = { label: v.accessibilityLabel, role: 'button' };
    this.item.backgroundColor = v.severity === 'error' ? new vscode.ThemeColor('statusBarItem.errorBackground')
      : v.severity === 'warning' ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
  }
}
