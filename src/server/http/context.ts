// What every handler receives: the request, its id, the shared server state and options.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MlxBatchError } from '../../shared/errors';
import type { HealthStatus } from '../../shared/protocol';
import type { HttpMetrics } from './metrics';
import type { InferenceService } from './service';

export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

/** Loading -> ready -> draining; the service exists once the model is loaded. */
export class ServerState {
  status: HealthStatus = 'loading';
  progress = 0;
  service: InferenceService | undefined;
  /** Set when loading failed: the message /health and generation requests report. */
  loadError: MlxBatchError | undefined;
  benchmarkRunning = false;

  constructor(readonly modelName: string) {}

  ready(service: InferenceService): void {
    this.service = service;
    this.status = 'ready';
    this.progress = 1;
  }

  /** The loaded service, or `unavailable` while loading or draining. */
  requireService(): InferenceService {
    if (this.status === 'draining') throw new MlxBatchError('unavailable', 'the server is shutting down and accepts no new requests');
    if (this.loadError) throw new MlxBatchError('unavailable', `the model failed to load: ${this.loadError.message}`);
    if (!this.service) throw new MlxBatchError('unavailable', `the model is still loading (${Math.round(this.progress * 100)}%); retry shortly`);
    return this.service;
  }
}

export interface ServerOptions {
  /** Bearer token every request must carry; undefined = no auth (no token file given). */
  token: string | undefined;
  bodyLimit: number;
  /** Default max_tokens for /v1/completions (OpenAI's is 16). */
  defaultCompletionTokens: number;
  statsIntervalMs: number;
  /** Host headers accepted, lower-case (`host:port`); undefined accepts any (remote binds). */
  allowedHosts: Set<string> | undefined;
}

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  id: string;
  /** ms timestamp (performance.now()) when the request arrived. */
  arrived: number;
  url: URL;
  state: ServerState;
  options: ServerOptions;
  metrics: HttpMetrics;
  log: Logger;
}

export type Handler = (ctx: RequestContext) => Promise<void>;
