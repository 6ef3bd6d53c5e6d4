// GET /v1/stats/stream: live stats as server-sent events for the editor's status bar.
import type { RunnerStats } from '../../../batching/runner-metrics';
import type { LiveStats } from '../../../shared/protocol';
import type { Handler } from '../context';
import { SseStream } from '../sse';

export function liveStats(s: RunnerStats): LiveStats {
  return {
    running: s.running,
    waiting: s.waiting,
    max_batch: s.maxBatch,
    batching: s.batching,
    tokens_per_second: Math.round(s.tokensPerSecond * 10) / 10,
    memory_mb: Math.round(s.memoryBytes / 2 ** 20),
    requests_total: s.requestsTotal,
    speculative: s.speculative,
    draft_tokens: s.draftTokens,
    draft_accepted: s.draftAccepted,
  };
}

export const statsStreamHandler: Handler = async ({ res, state, options }) => {
  const service = state.requireService();
  const sse = new SseStream(res);
  const tick = () => sse.send(liveStats(service.stats()));
  tick();
  const timer = setInterval(tick, options.statsIntervalMs);
  await new Promise<void>((resolve) => res.once('close', resolve));
  clearInterval(timer);
  sse.end();
};
