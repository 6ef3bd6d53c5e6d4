// The HTTP server: host check, auth, routing, and one place that turns every thrown error into
// an OpenAI-style JSON answer, so a failing handler never takes the process down.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MlxBatchError } from '../../shared/errors';
import { checkAuth } from './auth';
import { ServerState, type Logger, type RequestContext, type ServerOptions } from './context';
import { reportError, sendError } from './errors';
import { benchmarkHandler } from './handlers/benchmark';
import { getBatchingHandler, setBatchingHandler } from './handlers/batching';
import { chatHandler } from './handlers/chat';
import { completionsHandler } from './handlers/completions';
import { infillHandler } from './handlers/infill';
import { healthHandler, metricsHandler, modelsHandler } from './handlers/info';
import { statsStreamHandler } from './handlers/stats-stream';
import { HttpMetrics } from './metrics';
import { Router } from './router';

const GENERATION_ROUTES = new Set(['/v1/completions', '/v1/chat/completions']);

export function defaultRouter(): Router {
  return new Router()
    .add({ method: 'GET', path: '/health', handler: healthHandler })
    .add({ method: 'GET', path: '/metrics', handler: metricsHandler })
    .add({ method: 'GET', path: '/v1/models', handler: modelsHandler })
    .add({ method: 'POST', path: '/v1/completions', handler: completionsHandler })
    .add({ method: 'POST', path: '/v1/chat/completions', handler: chatHandler })
    .add({ method: 'POST', path: '/infill', handler: infillHandler })
    .add({ method: 'GET', path: '/v1/batching', handler: getBatchingHandler })
    .add({ method: 'POST', path: '/v1/batching', handler: setBatchingHandler })
    .add({ method: 'GET', path: '/v1/stats/stream', handler: statsStreamHandler })
    .add({ method: 'POST', path: '/v1/benchmark', handler: benchmarkHandler });
}

export class ApiServer {
  readonly server: http.Server;
  readonly metrics = new HttpMetrics();
  private nextId = 0;
  private readonly sockets = new Set<import('node:net').Socket>();

  constructor(
    readonly state: ServerState,
    readonly options: ServerOptions,
    readonly log: Logger,
    private readonly router: Router = defaultRouter(),
  ) {
    this.server = http.createServer({ requestTimeout: 0, headersTimeout: 30_000 }, (req, res) => {
      void this.dispatch(req, res);
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    this.server.on('clientError', (err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      else socket.destroy(err);
    });
  }

  /** Binds and resolves with the base URL (port 0 picks a free port). */
  listen(host: string, port: number): Promise<string> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const addr = this.server.address() as AddressInfo;
        const h = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
        if (this.options.allowedHosts) {
          for (const name of ['127.0.0.1', 'localhost', '[::1]', h]) this.options.allowedHosts.add(`${name}:${addr.port}`);
        }
        resolve(`http://${h}:${addr.port}`);
      });
    });
  }

  /** Stops accepting connections; open streams are ended after `graceMs`. */
  async close(graceMs = 0): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    if (graceMs > 0) await Promise.race([closed, new Promise((r) => setTimeout(r, graceMs).unref())]);
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  private async dispatch(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const id = `req-${(++this.nextId).toString(36)}`;
    const arrived = performance.now();
    res.setHeader('x-request-id', id);
    this.metrics.inFlight += 1;
    let route = 'unmatched';
    let url: URL | undefined;
    try {
      this.checkHost(req);
      checkAuth(req, this.options.token);
      url = parseUrl(req.url);
      const match = this.router.match(req.method ?? 'GET', url.pathname);
      route = match.route;
      if (GENERATION_ROUTES.has(route)) this.metrics.generationRequests += 1;
      const ctx: RequestContext = { req, res, id, arrived, url, state: this.state, options: this.options, metrics: this.metrics, log: this.log };
      await match.handler(ctx);
    } catch (e) {
      const err = reportError(e, id, this.log, this.metrics, `${req.method} ${req.url}`);
      if (err.type === 'payload_too_large') {
        // Answer, then drop the connection instead of reading the rest of a huge body.
        res.setHeader('connection', 'close');
        req.resume();
      }
      if (err.type === 'method_not_allowed') res.setHeader('allow', this.router.allowed(url?.pathname ?? '').join(', '));
      sendError(res, err, id);
    } finally {
      this.metrics.inFlight -= 1;
      this.metrics.request(route, res.statusCode);
    }
  }

  /** On a loopback bind, only loopback Host headers: a DNS-rebinding page cannot reach us. */
  private checkHost(req: http.IncomingMessage): void {
    const allowed = this.options.allowedHosts;
    if (!allowed) return;
    const host = (req.headers.host ?? '').toLowerCase();
    if (!allowed.has(host)) throw new MlxBatchError('forbidden', `Host "${host}" is not allowed: this server only answers loopback clients`);
  }
}

/** The request target as a URL on a fixed base (`//x` or other odd targets stay paths). */
function parseUrl(target: string | undefined): URL {
  const t = target ?? '/';
  if (!t.startsWith('/')) throw new MlxBatchError('not_found', `no route for request target "${t.slice(0, 100)}"`);
  try {
    return new URL(`http://localhost${t.replace(/^\/+/, '/')}`);
  } catch {
    throw new MlxBatchError('not_found', `no route for request target "${t.slice(0, 100)}"`);
  }
}

export { ServerState };
