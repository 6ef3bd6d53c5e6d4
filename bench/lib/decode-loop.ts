// Timed prefill and greedy decode over any forward function, with the project's memory
// discipline (MemoryReclaimer: event-loop yield every step, gc every few steps, its time counted).
import { mx, type MxArray } from '../../src/server/mlx';
import { MemoryReclaimer } from '../../src/server/memory';

/** B rows at one position: forward(tokens [B, L] int32) appends to its own cache and returns logits [B, L, V]. */
export interface Sequence {
  forward(tokens: MxArray): MxArray;
}

export interface DecodeTiming {
  /** Milliseconds per decoded token, one entry per token. */
  msPerToken: number[];
  gcMs: number;
  /** Milliseconds per token spent building the graph in JavaScript (not pipelined runs only). */
  buildMs: number[];
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** `n` token ids from a seeded generator, in [1, vocab), as a plain list (a request's prompt). */
export function seededTokenIds(n: number, vocab: number, seed: number): number[] {
  let x = seed * 2654435761 >>> 0;
  return Array.from({ length: n }, () => 1 + ((x = (x * 1103515245 + 12345) >>> 0) % (vocab - 1)));
}

export function randomTokens(n: number, vocab: number, seed = 1, rows = 1): MxArray {
  let s = seed >>> 0;
  const ids = Array.from({ length: n * rows }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % vocab;
  });
  return mx.array(ids, mx.int32).reshape([rows, n]);
}

/** Prefill tokens/s for one prompt of `prompt` tokens (chunked like the server would: whole prompt). */
export function timePrefill(seq: Sequence, prompt: MxArray): number {
  const t = performance.now();
  const logits = seq.forward(prompt);
  mx.eval(mx.argmax(mx.take(logits, mx.array([logits.shape[1] - 1], mx.int32), 1), -1));
  return prompt.shape[1] / ((performance.now() - t) / 1000);
}

/**
 * Greedy decode of `tokens` tokens after a prefill, one eval per token. With `pipeline`, the next
 * token's graph is built and started (asyncEval) before the current token is read back.
 */
export async function timeDecode(seq: Sequence, prompt: MxArray, tokens: number, reclaim: MemoryReclaimer, pipeline = false): Promise<DecodeTiming> {
  const last = (logits: MxArray): MxArray => mx.argmax(mx.take(logits, mx.array([logits.shape[1] - 1], mx.int32), 1), -1).astype(mx.int32);
  const rows = prompt.shape[0];
  const step = (t: MxArray): MxArray => last(seq.forward(t.reshape([rows, 1])));
  let tok = last(seq.forward(prompt));
  mx.eval(tok);
  const gc0 = reclaim.gcMs;
  const msPerToken: number[] = [], buildMs: number[] = [];
  let t = performance.now();
  if (!pipeline) {
    for (let i = 0; i < tokens; i++) {
      tok = step(tok);
      buildMs.push(performance.now() - t);
      mx.eval(tok);
      tok.tolist();
      await reclaim.step();
      const now = performance.now();
      msPerToken.push(now - t);
      t = now;
    }
  } else {
    let next = step(tok);
    mx.asyncEval(next);
    for (let i = 0; i < tokens; i++) {
      const cur = next;
      if (i + 1 < tokens) {
        next = step(cur);
        mx.asyncEval(next);
      }
      cur.tolist();
      await reclaim.step();
      const now = performance.now();
      msPerToken.push(now - t);
      t = now;
    }
  }
  return { msPerToken, gcMs: reclaim.gcMs - gc0, buildMs };
}
