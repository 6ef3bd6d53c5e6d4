// The server process's life: bind, announce the URL on stdout, load the model (reporting
// progress), serve, drain on SIGTERM, and exit at once when the parent process goes away.
import { MlxBatchError, toMlxBatchError } from '../../shared/errors';
import type { ServerEvent } from '../../shared/protocol';
import { readTokenFile } from '../../server/http/auth';
import { ServerState, type Logger } from '../../server/http/context';
import { ApiServer } from '../../server/http/server';
import type { ServiceLoader } from '../../server/load-service';
import { stderrOutput, stdoutOutput } from './output';
import { watchParent } from './parent-watch';
import { parseServeOptions, type ServeOptions } from './serve-options';

export interface RunningServer {
  url: string;
  state: ServerState;
  api: ApiServer;
  /** Resolves when the model is loaded (rejects if loading failed). */
  loaded: Promise<void>;
  /** Drains (up to the drain timeout), closes and resolves with the exit code. */
  shutdown(reason: string): Promise<number>;
  /** Resolves with the exit code once the server has shut down, whatever the reason. */
  done: Promise<number>;
  /** True once the parent process is gone: nobody is left to read answers, events or logs. */
  readonly orphaned: boolean;
}

export function stderrLogger(): Logger {
  const err = stderrOutput();
  const line = (level: string, msg: string) => err.write(`${new Date().toISOString()} ${level} ${msg}\n`);
  return { info: (m) => line('info', m), warn: (m) => line('warn', m), error: (m) => line('error', m) };
}

/** One JSON line on stdout for the parent process. */
export function announce(event: ServerEvent): void {
  stdoutOutput().write(`${JSON.stringify(event)}\n`);
}

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

export async function startServer(options: ServeOptions, load: ServiceLoader, log: Logger = stderrLogger()): Promise<RunningServer> {
  const loopback = isLoopback(options.host);
  if (!loopback && !options.allowRemote) {
    throw new MlxBatchError('validation', `refusing to listen on ${options.host}: it is reachable from other machines. Pass --allow-remote to do it anyway (and --token-file to require a token)`, 'host');
  }
  const token = options.tokenFile ? readTokenFile(options.tokenFile) : undefined;
  if (!loopback) {
    log.warn(`listening on ${options.host}, reachable from other machines${token ? '' : ' WITHOUT any authentication (no --token-file)'}`);
  }
  const state = new ServerState(options.model);
  const api = new ApiServer(state, {
    token,
    bodyLimit: options.bodyLimit,
    defaultCompletionTokens: options.defaultCompletionTokens,
    statsIntervalMs: options.statsIntervalMs,
    allowedHosts: loopback ? new Set<string>() : undefined,
  }, log);
  const url = await api.listen(options.host, options.port);
  announce({ event: 'listening', url, model: options.model });
  log.info(`listening on ${url}${token ? ' (bearer token required)' : ''}`);

  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((r) => (resolveDone = r));
  let shuttingDown: Promise<number> | undefined;
  const cleanups: (() => void)[] = [];
  // Parent death cuts any drain short: nobody is left to read the answers.
  let orphaned = false;
  let cutDrain!: () => void;
  const drainCut = new Promise<boolean>((r) => (cutDrain = () => r(false)));

  const stopWatching = watchParent({ parentPid: options.parentPid, watchStdin: options.watchStdin }, (why) => {
    if (orphaned) return;
    orphaned = true;
    log.warn(`${why}: exiting without waiting for running requests`);
    cutDrain();
    void shutdown('parent process exited');
  }, log);

  const shutdown = (reason: string): Promise<number> => {
    shuttingDown ??= (async () => {
      log.info(orphaned ? `shutting down (${reason})` : `shutting down (${reason}): draining for up to ${options.drainTimeoutMs / 1000}s`);
      state.status = 'draining';
      let code = 0;
      if (state.service && !orphaned) {
        const drained = await Promise.race([
          state.service.drain().then(() => true),
          drainCut,
          new Promise<boolean>((r) => setTimeout(() => r(false), options.drainTimeoutMs).unref()),
        ]);
        if (!drained && !orphaned) log.warn('drain timeout: closing the remaining requests');
      }
      await api.close(orphaned ? 0 : 1000);
      // An orphan keeps its watchdog: if anything still holds the process, it is killed.
      if (!orphaned) stopWatching();
      if (state.loadError) code = 1;
      // Signal handlers stay until here: a second signal during the drain exits at once.
      for (const c of cleanups) c();
      log.info('stopped');
      resolveDone(code);
      return code;
    })();
    return shuttingDown;
  };

  const onSignal = (signal: NodeJS.Signals) => {
    if (shuttingDown) {
      log.warn(`${signal} again: exiting now`);
      process.exit(1);
    }
    void shutdown(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  cleanups.push(() => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  });

  const loaded = (async () => {
    const t0 = performance.now();
    const progress = (fraction: number, message: string) => {
      state.progress = Math.max(0, Math.min(1, fraction));
      announce({ event: 'loading', progress: state.progress, message });
    };
    try {
      const service = await load(options, progress, log);
      if (shuttingDown) return;
      state.ready(service);
      const { kernels } = service;
      announce({ event: 'ready', model: service.model.id, contextLength: service.model.contextLength, ...(kernels ? { kernels } : {}) });
      log.info(`model ${service.model.id} ready in ${((performance.now() - t0) / 1000).toFixed(1)}s (context ${service.model.contextLength})`);
    } catch (e) {
      const err = toMlxBatchError(e);
      state.loadError = err;
      announce({ event: 'error', message: err.message, type: err.type });
      log.error(`loading ${options.model} failed: ${err.type === 'internal' ? err.stack ?? err.message : err.message}`);
      throw err;
    }
  })();
  loaded.catch(() => void shutdown('the model failed to load'));
  return { url, state, api, loaded, shutdown, done, get orphaned() { return orphaned; } };
}

/**
 * Parses `serve` arguments, serves until SIGTERM and resolves with the exit code; when the parent
 * is gone it exits the process itself, so no stray handle keeps an orphan (and its model) alive.
 */
export async function runServe(argv: string[], load: ServiceLoader): Promise<number> {
  // Guard both streams first: a write to a closed pipe must never throw or reach onUncaught.
  stdoutOutput();
  const log = stderrLogger();
  const options = parseServeOptions(argv);
  // A bug in one request's callbacks must not take every other request down with it.
  const onUncaught = (e: unknown) => log.error(`uncaught: ${(e as Error)?.stack ?? String(e)}`);
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
  try {
    const server = await startServer(options, load, log);
    const code = await server.done;
    if (server.orphaned) process.exit(code);
    return code;
  } finally {
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUncaught);
  }
}
