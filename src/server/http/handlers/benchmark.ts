// POST /v1/benchmark: runs a benchmark on the loaded model (the sequential-vs-batched throughput
// comparison, or the editor scenario) and streams progress events, then the report, as
// server-sent events. One benchmark at a time.
import { MlxBatchError } from '../../../shared/errors';
import { BENCHMARK_SCENARIOS, isEditorReport, type BenchmarkEvent, type BenchmarkRequest } from '../../../shared/protocol';
import { optEnum, optInt } from '../fields';
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
  const scenario = optEnum(body, 'scenario', BENCHMARK_SCENARIOS);
  if (scenario) out.scenario = scenario;
  const chats = optInt(body, 'chats', 0, 8);
  if (chats !== undefined) out.chats = chats;
  const typing = optInt(body, 'typing_ms', 20, 2000);
  if (typing !== undefined) out.typing_ms = typing;
  const duration = optInt(body, 'duration', 5, 600);
  if (duration !== undefined) out.duration = duration;
  const seed = optInt(body, 'seed', 0, 0xffffffff);
  if (seed !== undefined) out.seed = seed;
  if (body.files !== undefined) out.files = filesOf(body.files);
  return out;
}

/** The editor scenario's source files: 1 to 16 of `{path, text}`, 1 MB of text at most. */
function filesOf(v: unknown): NonNullable<BenchmarkRequest['files']> {
  const ok = Array.isArray(v) && v.length >= 1 && v.length <= 16 &&
    v.every((f) => typeof f === 'object' && f !== null && typeof f.path === 'string' && typeof f.text === 'string');
  if (!ok) throw new MlxBatchError('validation', '"files" must be a list of 1 to 16 {"path", "text"} objects', 'files');
  const files = v as NonNullable<BenchmarkRequest['files']>;
  if (files.reduce((n, f) => n + f.text.length, 0) > 1 << 20) throw new MlxBatchError('validation', '"files" may hold at most 1 MB of text', 'files');
  return files.map((f) => ({ path: f.path, text: f.text }));
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
    ctx.log.info(`[${ctx.id}] benchmark done: ${isEditorReport(report) ? report.verdict.text : `speed-up ${JSON.stringify(report.speedup)}`}`);
  } catch (e) {
    if (!abort.signal.aborted) send({ type: 'error', error: errorBody(reportError(e, ctx.id, ctx.log, ctx.metrics, 'benchmark failed'), ctx.id).error });
    sse.end(false);
  } finally {
    ctx.state.benchmarkRunning = false;
    ctx.res.off('close', onClose);
  }
};
