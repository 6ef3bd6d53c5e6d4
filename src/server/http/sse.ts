// Server-sent events: `data: <json>\n\n` frames, a comment heartbeat so proxies and clients
// keep the connection, and `data: [DONE]` for OpenAI streams.
import type { ServerResponse } from 'node:http';

export class SseStream {
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(private readonly res: ServerResponse, heartbeatMs = 15_000) {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.flushHeaders();
    if (heartbeatMs > 0) {
      this.heartbeat = setInterval(() => this.write(': ping\n\n'), heartbeatMs);
      this.heartbeat.unref();
    }
  }

  get closed(): boolean {
    return this.res.destroyed || this.res.writableEnded;
  }

  /** Sends one event; an `event` name is optional (OpenAI streams use none). */
  send(data: unknown, event?: string): void {
    this.write(`${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`);
  }

  /** Ends the stream, after `data: [DONE]` when `done` is set. */
  end(done = false): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.closed) return;
    if (done) this.res.write('data: [DONE]\n\n');
    this.res.end();
  }

  private write(frame: string): void {
    if (!this.closed) this.res.write(frame);
  }
}
