// The inline-completion pipeline, vscode-free: typed-ahead cache -> reuse of the in-flight
// request -> latest-wins debounce -> one streamed FIM request (priority interactive) cut at the end
// of the line or block: /v1/completions with a suffix unless the server refuses it, or llama.cpp's
// /infill; with context chunks (`input_extra`) where the server takes them.
import type { ApiClient } from '../client/api-client';
import { isAbort } from '../client/api-error';
import type { ExtraContextChunk } from '../../shared/protocol';
import { trimCompletion, type TrimInput } from './block-end';
import { CompletionCache, remainder } from './completion-cache';
import { completionMode } from './completion-mode';
import { requestExtra } from './context-ring';
import { LatestWinsDebouncer } from './debouncer';
import { completionRequest, infillRequest } from './fim-request';
import { FimSupport, rejectsSuffix } from './fim-support';
import { InflightCompletion } from './inflight';

export interface CompletionQuery {
  prefix: string;
  suffix: string;
  lineBefore: string;
  lineAfter: string;
  nextLine?: string;
  /** Asked for explicitly (command or Alt+\): no debounce. */
  manual: boolean;
  /** Aborted when the editor no longer wants this answer. */
  signal: AbortSignal;
  /** Context chunks in a stable order (the ring's, oldest first). */
  extra?: ExtraContextChunk[];
  /**
   * More chunks found on demand (definitions near the cursor), appended after `extra`: looked up
   * only when a request will be sent, while the debounce runs.
   */
  extraLookup?: () => Promise<ExtraContextChunk[]>;
}

export interface PipelineOptions {
  debounceMs: number;
  maxTokens: number;
  temperature: number;
  /** Model name to send (remote servers); undefined for the local server. */
  model?: string;
  /**
   * Ask the server to cut context that does not fit the model (`truncate_prompt: "left"`, our own
   * server's extension): the far ends of prefix and suffix go instead of a 400.
   */
  truncatePrompt?: boolean;
  /** `infill`: llama.cpp's /infill (a remote llama-server); else /v1/completions. Default `completions`. */
  fimApi?: 'completions' | 'infill';
  /** Send the query's context chunks (servers that take `input_extra`). */
  extraContext?: boolean;
  /** Characters of chunk text one request carries at most (default 0: none). */
  maxExtraChars?: number;
}

export interface PipelineDeps {
  client(): Promise<ApiClient | undefined>;
  options(): PipelineOptions;
  log(message: string): void;
}

/** How a query was answered, for logs and tests. */
export type CompletionSource = 'cache' | 'inflight' | 'request';

export interface CompletionAnswer {
  text: string;
  source: CompletionSource;
}

export class CompletionPipeline {
  readonly cache = new CompletionCache();
  readonly fim = new FimSupport();
  private readonly debouncer = new LatestWinsDebouncer();
  private inflight: InflightCompletion | undefined;
  /** Requests sent and requests aborted before they finished (stale or block end), for tests. */
  readonly counters = { requests: 0, aborted: 0 };
  /** The other files' pieces the last request carried (for tests and logs). */
  lastExtra: readonly ExtraContextChunk[] = [];
  /** When the editor last asked for a completion (Date.now()); the context warm-up waits for a pause. */
  lastQueryAt = 0;

  constructor(private readonly deps: PipelineDeps) {}

  async complete(q: CompletionQuery): Promise<CompletionAnswer | undefined> {
    this.lastQueryAt = Date.now();
    const cached = this.cache.get(q.prefix, q.suffix);
    if (cached) return { text: cached, source: 'cache' };
    const reused = await this.fromInflight(q);
    if (reused !== undefined) return reused ? { text: reused, source: 'inflight' } : undefined;

    const opts = this.deps.options();
    const lookup = opts.extraContext && q.extraLookup ? q.extraLookup().catch(() => []) : undefined;
    if (!q.manual && !(await this.debouncer.wait(opts.debounceMs))) return undefined;
    if (q.signal.aborted) return undefined;
    const late = await this.fromInflight(q);
    if (late !== undefined) return late ? { text: late, source: 'inflight' } : undefined;
    const found = (await lookup) ?? [];
    if (q.signal.aborted) return undefined;
    const extra = opts.extraContext ? requestExtra(q.extra ?? [], found, { prefix: q.prefix, suffix: q.suffix, maxChars: opts.maxExtraChars ?? 0 }) : [];

    const client = await this.deps.client();
    if (!client || q.signal.aborted) return undefined;
    // Latest wins: a request this query cannot reuse is stale.
    this.inflight?.abort();
    const flight = new InflightCompletion(q.prefix, q.suffix, new AbortController(), opts.debounceMs + 250);
    this.inflight = flight;
    void this.run(client, flight, q, opts, extra);
    const text = await this.wait(flight, q);
    return text ? { text, source: 'request' } : undefined;
  }

  /** Aborts the running request (e.g. when the backend restarts). */
  cancelAll(): void {
    this.debouncer.supersede();
    this.inflight?.abort();
    this.inflight = undefined;
  }

  /** undefined: no reusable request; '' : reused but nothing left to show. */
  private async fromInflight(q: CompletionQuery): Promise<string | undefined> {
    const f = this.inflight;
    if (!f || !f.covers(q.prefix, q.suffix)) return undefined;
    const text = await this.wait(f, q);
    return text === undefined ? '' : remainder(f.prefix, text, q.prefix);
  }

  /** Waits for a request's final text, unless the query is aborted first. */
  private async wait(f: InflightCompletion, q: CompletionQuery): Promise<string | undefined> {
    const release = f.acquire();
    let onAbort: (() => void) | undefined;
    try {
      const aborted = new Promise<undefined>((resolve) => {
        onAbort = () => resolve(undefined);
        if (q.signal.aborted) resolve(undefined);
        else q.signal.addEventListener('abort', onAbort, { once: true });
      });
      return await Promise.race([f.result.catch(() => undefined), aborted]);
    } finally {
      if (onAbort) q.signal.removeEventListener('abort', onAbort);
      release();
    }
  }

  private async run(client: ApiClient, f: InflightCompletion, q: CompletionQuery, opts: PipelineOptions, extra: ExtraContextChunk[]): Promise<void> {
    const mode = completionMode(q.lineBefore, q.lineAfter);
    const trim: TrimInput = { mode, lineBefore: q.lineBefore, lineAfter: q.lineAfter, nextLine: q.nextLine };
    const infill = opts.fimApi === 'infill';
    const useSuffix = infill || this.fim.supportsSuffix(client.baseUrl);
    const call = { signal: f.controller.signal, priority: 'interactive' as const };
    const deltas = infill
      ? streamTexts(client.streamInfill(infillRequest(q, opts, extra), call), (e) => e.content)
      : streamTexts(client.streamCompletion(completionRequest(q, opts, mode, useSuffix, extra), call), (c) => c.choices[0]?.text ?? '');
    this.counters.requests += 1;
    this.lastExtra = extra;
    let raw = '';
    let endedEarly = false;
    try {
      for await (const delta of deltas) {
        raw += delta;
        const t = trimCompletion(raw, trim);
        f.update(t.text);
        if (t.complete) {
          endedEarly = true;
          break;
        }
      }
      if (endedEarly) {
        // The block is complete: stop generating so the server frees the row now.
        f.controller.abort();
        this.counters.aborted += 1;
      }
      const text = trimCompletion(raw, trim, true).text;
      if (!text.trim()) {
        f.finish('');
        return;
      }
      this.cache.put(q.prefix, q.suffix, text);
      f.finish(text);
    } catch (e) {
      if (!infill && useSuffix && rejectsSuffix(e)) {
        this.deps.log(`${client.baseUrl} does not accept "suffix" (${(e as Error).message}); using prefix-only completions from now on`);
        this.fim.markPrefixOnly(client.baseUrl);
        this.counters.requests -= 1;
        return this.run(client, f, q, opts, extra);
      }
      if (isAbort(e) || f.controller.signal.aborted) {
        this.counters.aborted += 1;
        f.fail(e);
        return;
      }
      this.deps.log(`completion failed: ${(e as Error).message}`);
      f.fail(e);
    } finally {
      if (this.inflight === f && f.done) this.inflight = f.text ? f : undefined;
    }
  }
}

async function* streamTexts<T>(events: AsyncIterable<T>, text: (event: T) => string): AsyncGenerator<string> {
  for await (const e of events) yield text(e);
}
