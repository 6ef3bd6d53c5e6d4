// What the status-bar item shows for a backend state and the latest live stats. vscode-free.
import type { LiveStats } from '../../shared/protocol';
import type { BackendStatus } from '../backend-status';

export interface StatusView {
  text: string;
  tooltip: string;
  /** Spoken label; also what the end-to-end tests match ("MLX Batch: ready, batching on, ..."). */
  accessibilityLabel: string;
  severity: 'normal' | 'warning' | 'error';
}

const fmtRate = (r: number): string => (r >= 100 ? String(Math.round(r)) : r.toFixed(1));

export function statusView(backend: BackendStatus, stats: LiveStats | undefined, batching: boolean | undefined): StatusView {
  switch (backend.state) {
    case 'stopped':
      return { text: '$(circle-outline) MLX', tooltip: 'MLX Batch: server not running. Click to start it.', accessibilityLabel: 'MLX Batch: stopped', severity: 'normal' };
    case 'starting': {
      const pct = Math.round(backend.progress * 100);
      return {
        text: `$(loading~spin) MLX ${pct}%`,
        tooltip: `MLX Batch: ${backend.message || 'loading the model'} (${pct}%)`,
        accessibilityLabel: `MLX Batch: loading, ${pct} percent`,
        severity: 'normal',
      };
    }
    case 'error':
      return { text: '$(error) MLX', tooltip: `MLX Batch: ${backend.message}\nClick to show the logs.`, accessibilityLabel: `MLX Batch: error, ${backend.message}`, severity: 'error' };
    case 'ready': {
      const on = stats?.batching ?? batching;
      const onText = on === undefined ? '' : on ? 'batching on' : 'batching off';
      const icon = on === false ? '$(debug-step-over)' : '$(layers)';
      const batch = stats ? ` ${stats.running}/${stats.max_batch}` : '';
      const rate = stats ? ` · ${fmtRate(stats.tokens_per_second)} tok/s` : '';
      const lines = [
        `MLX Batch — ${backend.model}`,
        `${backend.remote ? 'Remote' : 'Local'} server: ${backend.url}`,
        on === undefined ? 'Continuous batching: not reported by this server' : `Continuous batching: ${on ? 'on' : 'off'}${backend.remote ? '' : ' (click to toggle)'}`,
      ];
      if (stats) {
        lines.push(`Running: ${stats.running} of ${stats.max_batch} rows, waiting: ${stats.waiting}`);
        lines.push(`Throughput: ${fmtRate(stats.tokens_per_second)} tokens/s`);
        lines.push(`Memory: ${stats.memory_mb} MB, requests served: ${stats.requests_total}`);
        const speculation = speculationLine(stats);
        if (speculation) lines.push(speculation);
      }
      const parts = ['ready', onText, stats ? `${stats.running} of ${stats.max_batch} running` : '', stats ? `${fmtRate(stats.tokens_per_second)} tokens per second` : ''].filter(Boolean);
      return {
        text: `${icon} MLX${batch}${rate}${on === false ? ' (seq)' : ''}`,
        tooltip: lines.join('\n'),
        accessibilityLabel: `MLX Batch: ${parts.join(', ')}`,
        severity: on === false ? 'warning' : 'normal',
      };
    }
  }
}

/** The tooltip's line on speculative decoding: off, or the share of draft tokens the model accepted. */
export function speculationLine(stats: LiveStats): string | undefined {
  if (stats.speculative === undefined) return undefined;
  if (!stats.speculative) return 'Speculative decoding: off';
  const drafted = stats.draft_tokens ?? 0;
  if (drafted === 0) return 'Speculative decoding: on (no drafts checked yet)';
  const accepted = stats.draft_accepted ?? 0;
  return `Speculative decoding: ${Math.round((100 * accepted) / drafted)}% of ${drafted.toLocaleString('en-US')} draft tokens accepted`;
}
