// POST /v1/benchmark: runs the sequential-vs-batched comparison on the loaded model and streams
// progress events, then the report, as server-sent events. One benchmark at a time.
import { MlxBatchError } from '../../../shared/errors';
import type { BenchmarkEvent, BenchmarkRequest } from '../../../shared/protocol';
import type { Handler } from '../context';
import { readJson } from '../body';
import { errorBody, reportError } from '../errors';
import { SseStream } from '../sse';

const PROMPT_SETS = ['short', 'medium', 'long'] as const;

export function parseBenchmark(body: Record<string, unknown>): BenchmarkRequest {
  const out: BenchmarkRequest = {};
  if (body.concurrency !== undefined) {
    const c = body.concurrency;
    if (!Array.isArray(c) || c.length === 0 || c.length > 8 || !c.every((n) => Number.isInteger(n) && n >= 1 && n <= 64)) {
      throw new MlxBatchError('validation', '"concurrency" must be a list of 1 to 8 integers in [1, 64]', 'concurrency');
    }
    out.concurrency = c as number[];
  }
  if (body.max_tokens !== undefined) {
    const m = body.max_tokens;
    if (!Number.isInteger(m) || (m as number) < 1 || (m as number) > 4096) throw new MlxBatchError('validation', '"max_tokens" must be an integer in [1, 4096]', 'max_tokens');
    out.max_tokens = m as number;
  }
  if (body.prompts !== undefined) {
    const p = body.prompts;
    if (!Array.isArray(p) || p.length === 0 || !p.every((s) => (PROMPT_SETS as readonly unknown[]).includes(s))) {
      throw new MlxBatchError('validation', '"prompts" must be a non-empty list of "short", "medium", "long"', 'prompts');
    }
    out.prompts = p as BenchmarkRequest['prompts'];
  }
  return out;
}

export const benchmarkHandler: Handler = async (ctx) => {
  const service = ctx.state.requireService();
  const request = parseBenchmark(await readJson(ctx.req, ctx.options.bodyLimit));
  if (ctx.state.benchmarkRunning) throw new MlxBatchError('overloaded', 'a benchmark is already running; wait for it to finish');
  ctx.state.benchmarkRunning = true;
  const abort = new AbortController();
  const onClose = () => { if (!ctx.res.writableFinished) abort.abort(); };
  ctx.res.on('close', onClose);
  const sse = new SseStream(ctx.res);
  const send = (e: BenchmarkEvent) => sse.send(e);
  ctx.log.info(`[${ctx.id}] benchmark started ${JSON.stringify(request)}`);
  try {
    const report = await service.benchmark(request, send, abort.signal);
    send({ type: 'result', report });
    sse.end(true);
    ctx.log.info(`[${ctx.id}] benchmark done: speed-up ${JSON.stringify(report.speedup)}`);
  } catch (e) {
    if (!abort.signal.aborted) send({ type: 'error', error: errorBody(reportError(e, ctx.id, ctx.log, ctx.metrics, 'benchmark failed'), ctx.id).error });
    sse.end(false);
  } finally {
    ctx.state.benchmarkRunning = false;
    ctx.res.off('close', onClose);
  }
};
