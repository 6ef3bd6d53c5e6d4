// HTTP client for the wire protocol (src/shared/protocol.ts): plain fetch with AbortSignal,
// streams read as server-sent events. Works against mlx-batch and other OpenAI-compatible servers.
import {
  PRIORITY_HEADER,
  type BatchingState,
  type BenchmarkEvent,
  type BenchmarkRequest,
  type ChatCompletionChunk,
  type ChatCompletionRequest,
  type CompletionRequest,
  type CompletionResponse,
  type Health,
  type InfillRequest,
  type InfillResponse,
  type LiveStats,
  type ModelList,
  type PriorityClass,
} from '../../shared/protocol';
import { ApiError, errorFromResponse, networkError } from './api-error';
import { readSse } from './sse-parser';

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export interface ClientOptions {
  /** Base URL without `/v1`, e.g. http://127.0.0.1:41234. */
  baseUrl: string;
  apiKey?: string;
  fetch?: FetchLike;
  /** What to tell the user on a 401 (default: set the remote API key). */
  authHint?: string;
}

export interface CallOptions {
  signal?: AbortSignal;
  priority?: PriorityClass;
}

export class ApiClient {
  readonly baseUrl: string;
  private readonly apiKey: string | undefined;
  private readonly fetchImpl: FetchLike;
  private readonly authHint: string | undefined;

  constructor(opts: ClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.apiKey = opts.apiKey || undefined;
    this.fetchImpl = opts.fetch ?? ((url, init) => fetch(url, init));
    this.authHint = opts.authHint;
  }

  /** GET /health. mlx-batch answers 503 with a body while loading; other servers may answer 200 with anything. */
  async health(signal?: AbortSignal): Promise<Health> {
    const res = await this.send('GET', '/health', undefined, { signal }, [503]);
    const text = await res.text();
    let body: Partial<Health> = {};
    try {
      body = JSON.parse(text) as Partial<Health>;
    } catch {
      // vLLM answers an empty 200
    }
    const status = body.status === 'loading' || body.status === 'draining' || body.status === 'ready' ? body.status : res.ok ? 'ready' : 'loading';
    return { status, model: typeof body.model === 'string' ? body.model : null, ...(typeof body.progress === 'number' ? { progress: body.progress } : {}) };
  }

  async models(signal?: AbortSignal): Promise<ModelList> {
    return this.json<ModelList>('GET', '/v1/models', undefined, { signal });
  }

  async getBatching(signal?: AbortSignal): Promise<BatchingState> {
    return this.json<BatchingState>('GET', '/v1/batching', undefined, { signal });
  }

  async setBatching(enabled: boolean, signal?: AbortSignal): Promise<BatchingState> {
    return this.json<BatchingState>('POST', '/v1/batching', { enabled }, { signal });
  }

  /** POST /v1/completions with `stream: true`: one chunk per event (text deltas). */
  async *streamCompletion(req: CompletionRequest, opts: CallOptions = {}): AsyncGenerator<CompletionResponse> {
    yield* this.stream<CompletionResponse>('/v1/completions', { ...req, stream: true }, opts);
  }

  /** POST /infill (llama.cpp's fill-in-the-middle) answered whole (`req.stream` unset); with `n_predict: 0` it only computes the prompt. */
  async infill(req: InfillRequest, opts: CallOptions = {}): Promise<InfillResponse> {
    return this.json<InfillResponse>('POST', '/infill', req, opts);
  }

  /** POST /infill with `stream: true`: one event per delta (`content`), the last with `stop: true`. */
  async *streamInfill(req: InfillRequest, opts: CallOptions = {}): AsyncGenerator<InfillResponse> {
    for await (const ev of this.stream<InfillResponse>('/infill', { ...req, stream: true }, opts)) {
      yield ev;
      if (ev.stop) return;
    }
  }

  /** POST /v1/chat/completions with `stream: true`. */
  async *streamChat(req: ChatCompletionRequest, opts: CallOptions = {}): AsyncGenerator<ChatCompletionChunk> {
    yield* this.stream<ChatCompletionChunk>('/v1/chat/completions', { ...req, stream: true, stream_options: { include_usage: true } }, opts);
  }

  /** GET /v1/stats/stream until aborted or closed by the server. */
  async *stats(signal?: AbortSignal): AsyncGenerator<LiveStats> {
    yield* this.stream<LiveStats>('/v1/stats/stream', undefined, { signal }, 'GET');
  }

  /** POST /v1/benchmark: progress events, then a `result` (or `error`) event. */
  async *benchmark(req: BenchmarkRequest, signal?: AbortSignal): AsyncGenerator<BenchmarkEvent> {
    yield* this.stream<BenchmarkEvent>('/v1/benchmark', req, { signal });
  }

  private async *stream<T>(path: string, body: unknown, opts: CallOptions, method = 'POST'): AsyncGenerator<T> {
    const res = await this.send(method, path, body, opts);
    if (!res.body) throw new ApiError(`empty response from ${this.baseUrl}${path}`, res.status, 'protocol');
    const type = res.headers.get('content-type') ?? '';
    if (!type.includes('text/event-stream')) {
      throw new ApiError(`${this.baseUrl}${path} did not answer with a stream (content-type "${type}")`, res.status, 'protocol');
    }
    for await (const ev of readSse(res.body)) {
      if (ev.data === '[DONE]') return;
      let value: unknown;
      try {
        value = JSON.parse(ev.data);
      } catch {
        throw new ApiError(`malformed stream event from ${this.baseUrl}${path}: ${ev.data.slice(0, 120)}`, res.status, 'protocol');
      }
      const err = (value as { error?: { message?: string; type?: string } }).error;
      if (err && typeof err === 'object' && (value as { type?: string }).type !== 'error') {
        throw new ApiError(err.message ?? 'the server reported an error mid-stream', 500, err.type ?? 'internal');
      }
      yield value as T;
    }
  }

  private async json<T>(method: string, path: string, body: unknown, opts: CallOptions): Promise<T> {
    const res = await this.send(method, path, body, opts);
    const text = await res.text();
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ApiError(`${this.baseUrl}${path} answered with invalid JSON`, res.status, 'protocol');
    }
  }

  /** Sends a request; a status outside 2xx (and not in `accept`) becomes an ApiError. */
  private async send(method: string, path: string, body: unknown, opts: CallOptions, accept: number[] = []): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json, text/event-stream' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    if (opts.priority) headers[PRIORITY_HEADER] = opts.priority;
    let res: Response;
    try {
      res = await this.fetchImpl(`${this.baseUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: opts.signal,
      });
    } catch (e) {
      if (opts.signal?.aborted) throw e;
      throw networkError(e, this.baseUrl);
    }
    if (!res.ok && !accept.includes(res.status)) throw errorFromResponse(res.status, await res.text().catch(() => ''), `${this.baseUrl}${path}`, this.authHint);
    return res;
  }
}
