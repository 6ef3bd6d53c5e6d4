// Splits the server's stdout into lines and picks out its JSON events (ServerEvent); any other
// line is plain log text.
import type { ServerEvent } from '../../shared/protocol';

export function parseServerEvent(line: string): ServerEvent | undefined {
  const t = line.trim();
  if (!t.startsWith('{')) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(t);
  } catch {
    return undefined;
  }
  if (!v || typeof v !== 'object') return undefined;
  const e = v as Record<string, unknown>;
  if (e.event === 'listening' && typeof e.url === 'string') return { event: 'listening', url: e.url, model: typeof e.model === 'string' ? e.model : '' };
  if (e.event === 'ready') return { event: 'ready', model: typeof e.model === 'string' ? e.model : '', contextLength: typeof e.contextLength === 'number' ? e.contextLength : 0 };
  if (e.event === 'loading' && typeof e.progress === 'number') return { event: 'loading', progress: e.progress, message: typeof e.message === 'string' ? e.message : '' };
  if (e.event === 'error' && typeof e.message === 'string') return { event: 'error', message: e.message, type: (typeof e.type === 'string' ? e.type : 'internal') as never };
  return undefined;
}

/** Feeds text chunks, calls `onLine` for each complete line (without its end of line). */
export class LineSplitter {
  private rest = '';

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: string): void {
    const text = this.rest + chunk;
    const lines = text.split(/\r?\n/);
    this.rest = lines.pop() ?? '';
    for (const l of lines) this.onLine(l);
  }

  flush(): void {
    if (this.rest) this.onLine(this.rest);
    this.rest = '';
  }
}
