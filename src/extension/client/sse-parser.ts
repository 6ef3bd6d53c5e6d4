// Server-sent events parser (WHATWG rules): frames end at a blank line; `data:` lines join with
// "\n"; comments (`:`) are skipped; CR, LF and CRLF all end a line, even when a chunk boundary
// falls between CR and LF. Bytes are decoded with a streaming UTF-8 decoder.
// Hand-written rather than the `eventsource-parser` package (MIT, no dependencies, bundles to
// 4.4 kB): its maintained line (4.x) is ESM-only and needs Node >= 22.12, while the extension host
// of VS Code ^1.100 and this project (engines node >= 20, tsc emitting CommonJS, where importing
// it is error TS1479) run on Node 20; 3.1.1, the last release that fits, gets no more fixes. It
// would also still need our decoder, the last frame at end of stream and `message` as the default
// event. Worth taking once the Node floor is 22.12.

export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

export class SseParser {
  private buffer = '';
  private data: string[] = [];
  private event = '';
  private id: string | undefined;
  private pendingCR = false;
  private readonly decoder = new TextDecoder('utf-8');

  /** Feeds bytes or text; returns the events completed by this chunk. */
  push(chunk: Uint8Array | string): SseEvent[] {
    let text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    if (text === '') return [];
    if (this.pendingCR && text.startsWith('\n')) text = text.slice(1);
    this.pendingCR = false;
    this.buffer += text;
    const events: SseEvent[] = [];
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer[i];
      if (c !== '\n' && c !== '\r') continue;
      this.line(this.buffer.slice(start, i), events);
      if (c === '\r') {
        if (i + 1 < this.buffer.length) {
          if (this.buffer[i + 1] === '\n') i++;
        } else {
          this.pendingCR = true;
        }
      }
      start = i + 1;
    }
    this.buffer = this.buffer.slice(start);
    return events;
  }

  /** End of stream: a final frame without its blank line is still delivered. */
  end(): SseEvent[] {
    const events: SseEvent[] = [];
    const rest = this.buffer + this.decoder.decode();
    this.buffer = '';
    if (rest) this.line(rest, events);
    this.line('', events);
    return events;
  }

  private line(line: string, events: SseEvent[]): void {
    if (line === '') {
      if (this.data.length) events.push({ event: this.event || 'message', data: this.data.join('\n'), ...(this.id !== undefined ? { id: this.id } : {}) });
      this.data = [];
      this.event = '';
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id') this.id = value;
  }
}

/** Reads a response body as server-sent events. */
export async function* readSse(body: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const parser = new SseParser();
  for await (const chunk of body as AsyncIterable<Uint8Array>) yield* parser.push(chunk);
  yield* parser.end();
}
