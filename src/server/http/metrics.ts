// What /metrics reports: the runner's counters (running, waiting, batch sizes, tokens, time to
// first token) plus what the HTTP layer sees (requests by route and status, errors by type).
import type { HistogramSnapshot } from '../../batching/stats';
import type { RunnerMetrics, RunnerStats } from '../../batching/runner-metrics';
import type { ErrorType } from '../../shared/errors';
import { Exposition, Histogram } from './prometheus';

const SECONDS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export class HttpMetrics {
  readonly duration = new Histogram(SECONDS);
  private readonly requests = new Map<string, number>();
  private readonly errors = new Map<ErrorType, number>();
  private readonly startedAt = Date.now();
  inFlight = 0;
  /** Generation requests received (completions and chat). */
  generationRequests = 0;
  /** Generation requests cancelled because the client went away. */
  aborted = 0;

  request(route: string, status: number): void {
    const key = `${route} ${status}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
  }

  error(type: ErrorType): void {
    this.errors.set(type, (this.errors.get(type) ?? 0) + 1);
  }

  render(runner: { stats: RunnerStats; metrics: RunnerMetrics } | undefined, state: string): string {
    const e = new Exposition();
    e.gauge('mlx_batch_state', 'Server state (loading, ready, draining, failed): 1 for the current one.', [[{ state }, 1]]);
    e.gauge('mlx_batch_uptime_seconds', 'Seconds since the server started.', (Date.now() - this.startedAt) / 1000);
    if (runner) {
      const { stats: s, metrics: m } = runner;
      e.gauge('mlx_batch_requests_running', 'Requests in the running batch.', m.running);
      e.gauge('mlx_batch_requests_waiting', 'Requests waiting for a row.', m.waiting);
      e.gauge('mlx_batch_max_batch_size', 'Most requests the scheduler runs at once.', s.maxBatch);
      e.gauge('mlx_batch_batching_enabled', '1 when continuous batching is on, 0 when requests run one at a time.', s.batching ? 1 : 0);
      e.gauge('mlx_batch_tokens_per_second', 'Generated tokens per second over the last few seconds.', s.tokensPerSecond);
      e.gauge('mlx_batch_kv_reserved_tokens', 'KV-cache tokens reserved by running requests.', s.kvReservedTokens);
      e.gauge('mlx_batch_kv_budget_tokens', 'KV-cache token budget.', s.kvBudgetTokens);
      e.gauge('mlx_batch_memory_bytes', 'Memory the server process holds: MLX active + cached memory and the JS heap on Metal, the resident set on the CPU.', s.memoryBytes);
      e.counter('mlx_batch_generated_tokens_total', 'Tokens generated.', m.tokensGenerated);
      e.counter('mlx_batch_prompt_tokens_total', 'Prompt tokens of finished requests.', m.promptTokens);
      e.counter('mlx_batch_prompt_tokens_cached_total', 'Prompt tokens reused from the prefix cache.', m.promptTokensCached);
      e.counter('mlx_batch_draft_tokens_total', 'Draft tokens proposed by speculative decoding (prompt lookup) and checked by the model.', m.draftTokens);
      e.counter('mlx_batch_draft_accepted_total', 'Draft tokens the model accepted.', m.draftAccepted);
      e.counter('mlx_batch_steps_total', 'Engine steps run.', m.steps);
      e.histogram('mlx_batch_batch_size', 'Requests per engine step (decode rows plus prompt chunks).', fromSnapshot(m.batchSize, 1));
      e.histogram('mlx_batch_time_to_first_token_seconds', 'From submission to the first generated token.', fromSnapshot(m.timeToFirstTokenMs, 1000));
      e.counter('mlx_batch_requests_finished_total', 'Requests finished, by reason (stop, length, abort, error).',
        Object.entries(m.requestsFinished).map(([reason, n]) => [{ reason }, n]));
    }
    e.histogram('mlx_batch_request_duration_seconds', 'Generation requests, from arrival to the last byte.', this.duration);
    e.gauge('mlx_batch_http_requests_in_flight', 'HTTP requests being answered.', this.inFlight);
    e.counter('mlx_batch_http_requests_total', 'HTTP requests answered, by route and status code.',
      [...this.requests].map(([k, n]) => {
        const [route, code] = k.split(' ');
        return [{ route, code }, n];
      }));
    e.counter('mlx_batch_errors_total', 'Error responses and failed streams, by error type.', [...this.errors].map(([type, n]) => [{ type }, n]));
    e.counter('mlx_batch_client_disconnects_total', 'Generation requests cancelled because the client went away.', this.aborted);
    return e.text();
  }
}

/** A runner histogram snapshot (cumulative buckets) as an exposition histogram, values / `scale`. */
function fromSnapshot(snap: HistogramSnapshot, scale: number): Histogram {
  return Histogram.fromCumulative(
    snap.buckets.filter((b) => b.le !== Infinity).map((b) => ({ le: b.le / scale, count: b.count })),
    snap.sum / scale,
    snap.count,
  );
}
