// The editor scenario: one trace (editor-trace.ts) replayed in real time against a target in
// three modes: `sequential` (batching off), `batched` (priorities off: every request `normal`)
// and `batched-priority` (what ships: completions `interactive`, chats `normal`). Keystrokes meet
// completions as in the extension: a request whose text the typing still agrees with answers the
// next keystrokes, one the typing contradicts is cancelled, and a pause asks for a new one; chats
// ask their questions one after another until the trace ends, when everything still running is
// cancelled. The same code runs in-process (`mlx-batch bench
// --scenario editor`) and behind POST /v1/benchmark (the webview).
import {
  EDITOR_BENCHMARK_MODES, type BenchmarkReport, type EditorBenchmarkMode, type EditorBenchmarkReport, type EditorModeResult, type PriorityClass,
} from '../../shared/protocol';
import { summarize } from '../stats';
import type { EditorTrace, TracedKeystroke } from './editor-trace';

/** What the editor scenario drives. */
export interface EditorTarget {
  /** An inline completion (FIM, ends at the end of its line): its text as it streams. */
  complete(c: { prefix: string; suffix: string }, o: { priority: PriorityClass; maxTokens: number }, signal: AbortSignal): AsyncIterable<string>;
  /** A chat answer: how many tokens each arriving chunk carries. */
  chat(question: string, o: { priority: PriorityClass; maxTokens: number }, signal: AbortSignal): AsyncIterable<number>;
  setBatching(enabled: boolean): void;
  /** Requests running in the batch now. */
  running(): number;
}

export interface EditorScenarioOptions {
  model: string;
  machine: BenchmarkReport['machine'];
  /** Tokens per completion (the extension's default) and per chat answer. */
  completionTokens?: number;
  chatTokens?: number;
  onProgress?: (mode: EditorBenchmarkMode, elapsedMs: number, totalMs: number) => void;
  signal?: AbortSignal;
  now?: () => number;
}

const DEFAULT_COMPLETION_TOKENS = 64;
const DEFAULT_CHAT_TOKENS = 128;
/** How often the batch's occupancy is read. */
const OCCUPANCY_MS = 25;

const sleep = (ms: number, signal: AbortSignal) => new Promise<void>((resolve) => {
  if (signal.aborted || ms <= 0) return resolve();
  const t = setTimeout(done, ms);
  function done() {
    clearTimeout(t);
    signal.removeEventListener('abort', done);
    resolve();
  }
  signal.addEventListener('abort', done, { once: true });
});

/** The trace in one mode. Batching is left as this mode set it. */
export async function runEditorMode(target: EditorTarget, trace: EditorTrace, mode: EditorBenchmarkMode, o: Omit<EditorScenarioOptions, 'model' | 'machine'> = {}): Promise<EditorModeResult> {
  const now = o.now ?? (() => performance.now());
  const end = new AbortController();
  const stop = () => end.abort();
  o.signal?.addEventListener('abort', stop, { once: true });
  target.setBatching(mode !== 'sequential');
  const completionPriority: PriorityClass = mode === 'batched-priority' ? 'interactive' : 'normal';
  const start = now();
  const elapsed = () => now() - start;
  const timer = setTimeout(stop, trace.durationMs);
  let peakBatch = 0;
  const poll = setInterval(() => {
    peakBatch = Math.max(peakBatch, target.running());
    o.onProgress?.(mode, Math.min(elapsed(), trace.durationMs), trace.durationMs);
  }, OCCUPANCY_MS);

  const ttft: number[] = [];
  const line: number[] = [];
  let sent = 0;
  let served = 0;
  /** The request the editor is waiting on, as the extension's pipeline holds it (inflight.ts). */
  let inflight: { k: TracedKeystroke; text: string; done: boolean; controller: AbortController } | undefined;
  /** The running (or answered) request answers keystroke k: same suffix, and k's typed text agrees with its text. */
  const covers = (f: NonNullable<typeof inflight>, k: TracedKeystroke): boolean => {
    if (k.suffix !== f.k.suffix || !k.prefix.startsWith(f.k.prefix)) return false;
    const typed = k.prefix.slice(f.k.prefix.length);
    return f.done ? f.text.startsWith(typed) && f.text.length > typed.length : f.text.startsWith(typed) || typed.startsWith(f.text);
  };
  const completion = async (k: TracedKeystroke): Promise<void> => {
    const f = { k, text: '', done: false, controller: new AbortController() };
    inflight = f;
    const onEnd = () => f.controller.abort();
    end.signal.addEventListener('abort', onEnd, { once: true });
    const t0 = now();
    let first: number | undefined;
    sent++;
    try {
      for await (const delta of target.complete(k, { priority: completionPriority, maxTokens: o.completionTokens ?? DEFAULT_COMPLETION_TOKENS }, f.controller.signal)) {
        if (f.controller.signal.aborted) break;
        if (delta && first === undefined) {
          first = now();
          ttft.push(first - t0);
          served++;
        }
        f.text += delta;
        if (f.text.includes('\n')) break;
      }
      if (!f.controller.signal.aborted) {
        f.done = true;
        if (first !== undefined) line.push(now() - t0);
      }
    } catch (e) {
      if (!f.controller.signal.aborted) throw e;
    } finally {
      end.signal.removeEventListener('abort', onEnd);
    }
  };

  const chatTtft: number[] = [];
  const chatGaps: number[] = [];
  let chatTokens = 0;
  const chat = async (questions: readonly string[]): Promise<void> => {
    for (let i = 0; !end.signal.aborted; i++) {
      const t0 = now();
      let last: number | undefined;
      try {
        for await (const n of target.chat(questions[i % questions.length], { priority: 'normal', maxTokens: o.chatTokens ?? DEFAULT_CHAT_TOKENS }, end.signal)) {
          if (n <= 0) continue;
          const t = now();
          if (last === undefined) chatTtft.push(t - t0);
          else chatGaps.push((t - last) / n);
          last = t;
          chatTokens += n;
        }
      } catch (e) {
        if (!end.signal.aborted) throw e;
      }
    }
  };

  // The keystrokes as the extension meets them: one its running request no longer agrees with
  // makes that request stale (it is cancelled); after a pause, a request that agrees answers the
  // keystroke, else a new one goes out (latest wins).
  const typing = async (): Promise<void> => {
    const running: Promise<void>[] = [];
    for (const k of trace.keystrokes) {
      await sleep(k.atMs - elapsed(), end.signal);
      if (end.signal.aborted) break;
      if (inflight && !inflight.done && !covers(inflight, k)) {
        inflight.controller.abort();
        inflight = undefined;
      }
      if (!k.asks) continue;
      await sleep(trace.options.debounceMs, end.signal);
      if (end.signal.aborted) break;
      if (inflight && covers(inflight, k)) continue;
      inflight?.controller.abort();
      running.push(completion(k));
    }
    await Promise.all(running);
  };

  try {
    await Promise.all([typing(), ...trace.chats.map(chat)]);
  } finally {
    clearTimeout(timer);
    clearInterval(poll);
    o.signal?.removeEventListener('abort', stop);
  }
  const wallMs = Math.min(elapsed(), trace.durationMs);
  const t = summarize(ttft);
  const l = summarize(line);
  const ct = summarize(chatTtft);
  return {
    mode,
    completionsSent: sent,
    completionsServed: served,
    completionsCancelled: sent - served,
    completionTtftMs: { p50: t.p50, p90: t.p90, p99: t.p99 },
    completionTtftSamplesMs: [...ttft].sort((a, b) => a - b),
    completionLineMs: { p50: l.p50, p90: l.p90, p99: l.p99 },
    chatTokens,
    chatTokensPerSecond: wallMs > 0 ? (chatTokens * 1000) / wallMs : 0,
    chatTtftMs: { p50: ct.p50, p99: ct.p99 },
    chatInterTokenMs: { p99: summarize(chatGaps).p99 },
    peakBatch,
    wallMs,
  };
}

/** The trace in every mode, then the verdict; batching is left on. */
export async function runEditorScenario(target: EditorTarget, trace: EditorTrace, o: EditorScenarioOptions): Promise<EditorBenchmarkReport> {
  const startedAt = new Date().toISOString();
  const modes: EditorModeResult[] = [];
  try {
    for (const mode of EDITOR_BENCHMARK_MODES) {
      if (o.signal?.aborted) break;
      modes.push(await runEditorMode(target, trace, mode, o));
    }
  } finally {
    target.setBatching(true);
  }
  return {
    scenario: 'editor',
    model: o.model,
    machine: o.machine,
    startedAt,
    trace: {
      seed: trace.options.seed, chats: trace.options.chats, typingMs: trace.options.typingMs, durationS: trace.options.durationS,
      keystrokes: trace.keystrokes.length, completions: trace.asks, chatQuestions: trace.chats.reduce((a, q) => a + q.length, 0), files: trace.files,
    },
    modes,
    verdict: editorVerdict(modes),
  };
}

/** batched-priority against sequential, in numbers and in one sentence. */
export function editorVerdict(modes: readonly EditorModeResult[]): EditorBenchmarkReport['verdict'] {
  const seq = modes.find((m) => m.mode === 'sequential');
  const ship = modes.find((m) => m.mode === 'batched-priority');
  if (!seq || !ship) return { completionTtftSpeedup: 0, chatThroughputSpeedup: 0, text: 'not every mode ran' };
  const completionTtftSpeedup = ship.completionTtftMs.p50 > 0 && seq.completionsServed > 0 ? seq.completionTtftMs.p50 / ship.completionTtftMs.p50 : 0;
  const chatThroughputSpeedup = seq.chatTokensPerSecond > 0 ? ship.chatTokensPerSecond / seq.chatTokensPerSecond : 0;
  const times = (x: number, more: string, less: string) => (x >= 1 ? `${x.toFixed(1)}x ${more}` : x > 0 ? `${(1 / x).toFixed(1)}x ${less}` : `no ${more === 'sooner' ? 'comparison' : 'figure'}`);
  const completions = seq.completionsServed === 0
    ? `completions arrive (${ship.completionsServed} served; none without batching)`
    : `completions arrive ${times(completionTtftSpeedup, 'sooner', 'later')}`;
  return {
    completionTtftSpeedup,
    chatThroughputSpeedup,
    text: `with batching and priorities, ${completions} while chats stream ${times(chatThroughputSpeedup, 'faster', 'slower')}`,
  };
}
