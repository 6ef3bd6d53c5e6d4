// The ring of context chunks sent with inline completions (llama.vscode's ring buffer), and how
// its chunks enter one request. vscode-free.
//
// Chunks are queued as the user opens, edits, saves and copies, and enter the ring on the refresh
// tick. The ring lists them oldest first, so between keystrokes the prompt's start stays the same
// and the server reuses what it computed for it. For example, with maxChunks 3:
//   ring [a, b, c]  + queued a      -> [a, b, c]   identical: nothing changes, version kept
//                   + queued b'     -> [a, b', c]  b' shares >= 90% of b's lines: replaced in place
//                   + queued d      -> [b', c, d]  new: appended, the oldest (a) evicted
import type { ExtraContextChunk } from '../../shared/protocol';

/** Share of lines (Jaccard over the sets of lines) at which a new chunk replaces an old one. */
export const SIMILAR_SHARE = 0.9;
/** Share of a chunk's lines already in the request's prefix or suffix at which it is left out of it. */
export const OVERLAP_SHARE = 0.5;
/** Chunks with fewer non-blank lines say too little to be worth a place. */
export const MIN_CHUNK_LINES = 3;

interface Entry {
  chunk: ExtraContextChunk;
  lines: Set<string>;
}

export class ContextRing {
  private ring: Entry[] = [];
  private queue: Entry[] = [];
  private changes = 0;

  constructor(private maxChunks: number) {}

  /** Changes exactly when the ring's content does (not on queueing, not on an identical chunk). */
  get version(): number {
    return this.changes;
  }

  /** Queues a chunk; a queued chunk identical or similar to it gives way to it. */
  add(chunk: ExtraContextChunk): void {
    const lines = lineSet(chunk.text);
    if (lines.size < MIN_CHUNK_LINES) return;
    this.queue = this.queue.filter((e) => !sameText(e.chunk, chunk) && similarity(e.lines, lines) < SIMILAR_SHARE);
    this.queue.push({ chunk, lines });
    if (this.queue.length > this.maxChunks) this.queue.splice(0, this.queue.length - this.maxChunks);
  }

  /** Moves the queued chunks into the ring; true if the ring changed. */
  refresh(): boolean {
    let changed = false;
    for (const e of this.queue.splice(0)) changed = this.place(e) || changed;
    changed = this.evict() || changed;
    if (changed) this.changes += 1;
    return changed;
  }

  /** Oldest first. */
  chunks(): ExtraContextChunk[] {
    return this.ring.map((e) => e.chunk);
  }

  setMaxChunks(n: number): void {
    this.maxChunks = n;
    if (this.evict()) this.changes += 1;
  }

  /** True if the ring changed. */
  private place(e: Entry): boolean {
    if (this.ring.some((r) => sameText(r.chunk, e.chunk))) return false;
    const similar = this.ring.findIndex((r) => similarity(r.lines, e.lines) >= SIMILAR_SHARE);
    if (similar < 0) this.ring.push(e);
    else {
      this.ring[similar] = e;
      // Any other chunk it resembles as much is now a duplicate.
      this.ring = this.ring.filter((r, i) => i === similar || similarity(r.lines, e.lines) < SIMILAR_SHARE);
    }
    return true;
  }

  /** Drops the oldest past maxChunks; true if any went. */
  private evict(): boolean {
    if (this.ring.length <= this.maxChunks) return false;
    this.ring.splice(0, this.ring.length - this.maxChunks);
    return true;
  }
}

/** `chunkLines` lines of `text` around line `line` (as many before as after), ending with a newline. */
export function chunkAround(text: string, line: number, chunkLines: number): string {
  const lines = text.split(/\r?\n/);
  const { start, end } = linesAround(lines.length, line, chunkLines);
  return chunkText(lines.slice(start, end));
}

/** The lines [start, end) of a chunk around `line` in a text of `lineCount` lines: whole near either end too. */
export function linesAround(lineCount: number, line: number, chunkLines: number): { start: number; end: number } {
  const start = Math.max(0, Math.min(line - Math.floor(chunkLines / 2), lineCount - chunkLines));
  return { start, end: Math.min(lineCount, start + chunkLines) };
}

/** Lines as chunk text: each ends with a newline, so chunks join without running together. */
export function chunkText(lines: string[]): string {
  return lines.length ? lines.join('\n') + '\n' : '';
}

export interface ExtraBudget {
  /** The request's FIM prefix and suffix: chunks mostly repeating them are left out. */
  prefix: string;
  suffix: string;
  /** Total characters of chunk text the request may carry. */
  maxChars: number;
}

/**
 * The extra context of one request: the ring's chunks, then the definitions, leaving out chunks
 * already in the prefix or suffix and keeping within `maxChars`. Definitions may use up to half the
 * budget; the ring's chunks fill the rest from the oldest, so the prompt's start stays the same.
 */
export function requestExtra(ring: ExtraContextChunk[], definitions: ExtraContextChunk[], budget: ExtraBudget): ExtraContextChunk[] {
  const window = lineSet(budget.prefix + '\n' + budget.suffix);
  const fresh = (c: ExtraContextChunk) => !overlaps(c, window);
  const defs = fitChars(definitions.filter(fresh), Math.floor(budget.maxChars / 2));
  const used = defs.reduce((n, c) => n + c.text.length, 0);
  return [...fitRecent(ring.filter(fresh), budget.maxChars - used), ...defs];
}

/**
 * The newest chunks that fit in `maxChars` together, in ring order (oldest first): what the user
 * touched last matters most, and the order keeps the prompt's start the same between keystrokes.
 * A chunk too long for what is left is skipped. The warm-up sends the same.
 */
export function fitRecent(chunks: ExtraContextChunk[], maxChars: number): ExtraContextChunk[] {
  const kept: ExtraContextChunk[] = [];
  let left = maxChars;
  for (let i = chunks.length - 1; i >= 0; i--) {
    if (chunks[i].text.length > left) continue;
    kept.push(chunks[i]);
    left -= chunks[i].text.length;
  }
  return kept.reverse();
}

/** In order, the chunks that fit in `maxChars` together; one too long is skipped. */
export function fitChars(chunks: ExtraContextChunk[], maxChars: number): ExtraContextChunk[] {
  const out: ExtraContextChunk[] = [];
  let left = maxChars;
  for (const c of chunks) {
    if (c.text.length > left) continue;
    out.push(c);
    left -= c.text.length;
  }
  return out;
}

function overlaps(chunk: ExtraContextChunk, window: Set<string>): boolean {
  const lines = lineSet(chunk.text);
  let shared = 0;
  for (const l of lines) if (window.has(l)) shared += 1;
  return lines.size > 0 && shared / lines.size >= OVERLAP_SHARE;
}

/** Share of lines two chunks have in common: |A ∩ B| / |A ∪ B| over their sets of non-blank lines. */
export function similarity(a: Set<string>, b: Set<string>): number {
  let shared = 0;
  for (const l of a) if (b.has(l)) shared += 1;
  const union = a.size + b.size - shared;
  return union === 0 ? 1 : shared / union;
}

/** The distinct non-blank lines of a text, without their indentation and trailing blanks. */
export function lineSet(text: string): Set<string> {
  const out = new Set<string>();
  for (const l of text.split(/\r?\n/)) {
    const t = l.trim();
    if (t) out.add(t);
  }
  return out;
}

const sameText = (a: ExtraContextChunk, b: ExtraContextChunk) => a.text === b.text && a.filename === b.filename;
