// Starts the real HTTP server in-process over the real runner and a deterministic fake engine,
// for the pure HTTP behaviour (routing, auth, limits, SSE, cancellation, ordering).
import { Runner, type RunnerOptions } from '../../../src/batching/runner';
import type { GenerateParams } from '../../../src/batching/request-types';
import { ServerState, type Logger, type ServerOptions } from '../../../src/server/http/context';
import { RunnerService } from '../../../src/server/http/runner-service';
import { ApiServer } from '../../../src/server/http/server';
import { FakeEngine, type FakeEngineOptions } from '../../unit/batching/helpers/fake-engine';
import { CharTokenizer, nextLetter } from './char-tokenizer';

export interface TestServer {
  url: string;
  api: ApiServer;
  runner: Runner;
  engine: FakeEngine;
  /** Every request the HTTP layer submitted to the runner, as submitted (priorities, sampling, stops). */
  submitted: GenerateParams[];
  state: ServerState;
  logs: string[];
  close(): Promise<void>;
}

export interface TestServerOptions {
  engine?: FakeEngineOptions;
  runner?: Partial<RunnerOptions>;
  server?: Partial<ServerOptions>;
  fim?: boolean;
}

export async function startTestServer(opts: TestServerOptions = {}): Promise<TestServer> {
  const engine = new FakeEngine({ contextLength: 512, next: nextLetter, stepMs: 1, ...opts.engine });
  const runner = new Runner(engine, { maxBatch: 8, ...opts.runner });
  const submitted: GenerateParams[] = [];
  const submit = runner.submit.bind(runner);
  runner.submit = (params, signal) => {
    submitted.push(params);
    return submit(params, signal);
  };
  const service = new RunnerService(
    { id: 'test-model', contextLength: engine.contextLength, created: 1_700_000_000 },
    runner,
    new CharTokenizer(opts.fim ?? true),
    { backend: 'cpu', benchmarkConcurrency: [2], benchmarkMaxTokens: 8 },
  );
  const state = new ServerState('test-model');
  state.ready(service);
  const logs: string[] = [];
  const log: Logger = { info: (m) => logs.push(`info ${m}`), warn: (m) => logs.push(`warn ${m}`), error: (m) => logs.push(`error ${m}`) };
  const api = new ApiServer(state, {
    token: undefined,
    bodyLimit: 64 * 1024,
    defaultCompletionTokens: 16,
    statsIntervalMs: 50,
    allowedHosts: new Set<string>(),
    ...opts.server,
  }, log);
  const url = await api.listen('127.0.0.1', 0);
  return { url, api, runner, engine, submitted, state, logs, close: () => api.close() };
}

/** Reads a server-sent-event response into its `data:` payloads (raw strings). */
export async function readSse(res: Response): Promise<string[]> {
  const text = await res.text();
  return text.split('\n\n').filter((f) => f.startsWith('data: ')).map((f) => f.slice(6));
}

/** Parses `data:` payloads as JSON, dropping the final [DONE]. */
export function sseJson<T = any>(frames: string[]): T[] {
  return frames.filter((f) => f !== '[DONE]').map((f) => JSON.parse(f) as T);
}

export function post(url: string, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body), signal });
}

/** A sample's value from a Prometheus text page; `sample` is written as on the page, labels included. */
export function metric(page: string, sample: string): number {
  const line = page.split('\n').find((l) => l.startsWith(`${sample} `));
  if (!line) throw new Error(`metric ${sample} not found in:\n${page}`);
  return Number(line.slice(sample.length + 1));
}

export { waitFor } from '../../helpers/wait-for';
