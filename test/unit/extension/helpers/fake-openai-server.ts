// A small scripted HTTP server for the extension's client tests: each route answers from a
// handler the test gives; requests are recorded, aborted requests counted.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Recorded {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: any;
}

export type Route = (req: Recorded, res: http.ServerResponse) => void | Promise<void>;

export class FakeServer {
  readonly requests: Recorded[] = [];
  closedEarly = 0;
  private server: http.Server;
  url = '';

  constructor(private readonly routes: Record<string, Route>) {
    this.server = http.createServer((req, res) => {
      let text = '';
      req.setEncoding('utf8').on('data', (c: string) => { text += c; });
      req.on('end', () => {
        let body: unknown;
        try { body = text ? JSON.parse(text) : undefined; } catch { body = text; }
        const rec: Recorded = { method: req.method ?? '', path: (req.url ?? '').split('?')[0], headers: req.headers, body };
        this.requests.push(rec);
        res.on('close', () => { if (!res.writableFinished) this.closedEarly += 1; });
        const route = this.routes[`${rec.method} ${rec.path}`];
        if (!route) {
          res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'no route', type: 'not_found', param: null, code: null } }));
          return;
        }
        void route(rec, res);
      });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

export function sse(res: http.ServerResponse): (data: unknown) => void {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  return (data) => res.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
}

export const completionChunk = (text: string, finish: 'stop' | 'length' | null = null) => ({
  id: 'cmpl-1', object: 'text_completion', created: 0, model: 'm', choices: [{ index: 0, text, finish_reason: finish, logprobs: null }],
});

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
