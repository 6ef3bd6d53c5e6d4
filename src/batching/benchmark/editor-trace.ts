// The editor benchmark's trace: a developer's minute, seeded, so every mode replays the same one.
// They retype lines of real source files at typing pace (a keystroke every `typingMs`, jittered;
// a pause after a word, a longer one after a line). Every keystroke carries the text around the
// cursor as the extension builds it (src/shared/fim-context.ts); one followed by a gap longer than
// the extension's debounce asks for an inline completion (editor-scenario.ts decides, as the
// extension does, whether a request still running answers it or a new one goes out). Meanwhile
// `chats` chat streams ask questions about that code, one after another.
import { buildFimContext, DEFAULT_COMPLETION_DEBOUNCE_MS, DEFAULT_FIM_CONTEXT_CHARS } from '../../shared/fim-context';
import { MlxBatchError } from '../../shared/errors';
import { Rng } from '../../shared/rng';

export interface TraceFile {
  path: string;
  text: string;
}

export interface EditorTraceOptions {
  seed: number;
  chats: number;
  /** Mean milliseconds between keystrokes. */
  typingMs: number;
  durationS: number;
  debounceMs?: number;
}

/** One keystroke and the editor's text around the cursor after it. Times from the start of the trace. */
export interface TracedKeystroke {
  atMs: number;
  file: string;
  prefix: string;
  suffix: string;
  /** No keystroke follows within the debounce: the editor asks for a completion `debounceMs` after it. */
  asks: boolean;
}

export interface EditorTrace {
  options: Required<EditorTraceOptions>;
  durationMs: number;
  keystrokes: TracedKeystroke[];
  /** Keystrokes that ask for a completion. */
  asks: number;
  /** Per chat stream, the questions it asks in order (more than a stream can ask in the trace). */
  chats: string[][];
  files: string[];
}

/** Code quoted in a chat question, at most (a question about a function, as one asks it). */
const QUESTION_CODE_CHARS = 1200;

/** A line worth retyping: some code on it. */
const typable = (line: string) => line.trim().length >= 8;

/** Declarations a question can be about: their name and line. */
function declarations(text: string): { name: string; line: number }[] {
  const out: { name: string; line: number }[] = [];
  text.split('\n').forEach((l, line) => {
    const m = /^\s*(?:export\s+)?(?:async\s+)?(?:function\*?|class|interface|def|struct|fn)\s+([A-Za-z_$][\w$]*)/.exec(l)
      ?? /^\s*(?:export\s+)?(?:const|let)\s+([A-Za-z_$][\w$]*)\s*=\s*(?:async\s*)?\(/.exec(l);
    if (m) out.push({ name: m[1], line });
  });
  return out;
}

const QUESTIONS = [
  (name: string, path: string) => `Explain what \`${name}\` in ${path} does, step by step.`,
  (name: string, path: string) => `How would you write unit tests for \`${name}\` in ${path}?`,
  (name: string, path: string) => `Is there a bug or an edge case \`${name}\` in ${path} does not handle? Suggest a fix.`,
  (name: string, path: string) => `Refactor \`${name}\` in ${path} to be easier to read, and explain the changes.`,
];

export function editorTrace(given: readonly TraceFile[], o: EditorTraceOptions): EditorTrace {
  const files = given.filter((f) => f.text.split('\n').some(typable));
  if (files.length === 0) throw new MlxBatchError('validation', 'the editor benchmark needs at least one source file with a line of code to type', 'files');
  const options = { debounceMs: DEFAULT_COMPLETION_DEBOUNCE_MS, ...o };
  const rng = new Rng(options.seed);
  const durationMs = options.durationS * 1000;
  const strokes: { atMs: number; file: string; before: string; after: string }[] = [];
  for (let t = 0; t < durationMs;) {
    const f = files[rng.int(0, files.length)];
    const lines = f.text.split('\n');
    const candidates = lines.map((l, i) => (typable(l) ? i : -1)).filter((i) => i >= 0);
    const n = candidates[rng.int(0, candidates.length)];
    const start = lines.slice(0, n).reduce((a, l) => a + l.length + 1, 0);
    const line = lines[n];
    const indent = line.length - line.trimStart().length;
    const after = f.text.slice(start + line.length);
    // The editor indents; the typist types the rest of the line.
    for (let i = indent + 1; i <= line.length && t < durationMs; i++) {
      t += options.typingMs * (0.5 + rng.next()) + (line[i - 2] === ' ' ? options.typingMs * 2 * rng.next() : 0);
      if (t < durationMs) strokes.push({ atMs: t, file: f.path, before: f.text.slice(0, start) + line.slice(0, i), after });
    }
    // Reading, thinking, moving to the next line.
    t += options.typingMs * (4 + 10 * rng.next());
  }
  const keystrokes: TracedKeystroke[] = strokes.map((s, i) => {
    const next = strokes[i + 1]?.atMs;
    const asks = (next === undefined || next - s.atMs > options.debounceMs) && s.atMs + options.debounceMs < durationMs;
    const ctx = buildFimContext(s.before, s.after, DEFAULT_FIM_CONTEXT_CHARS.prefix, DEFAULT_FIM_CONTEXT_CHARS.suffix);
    return { atMs: s.atMs, file: s.file, prefix: ctx.prefix, suffix: ctx.suffix, asks };
  });
  const topics = files.flatMap((f) => declarations(f.text).map((d) => ({ ...d, file: f })));
  const chats = Array.from({ length: options.chats }, () => Array.from({ length: 32 }, () => {
    if (topics.length === 0) {
      const f = files[rng.int(0, files.length)];
      return `Explain what this code from ${f.path} does:\n\n\`\`\`\n${f.text.split('\n').slice(0, 24).join('\n').slice(0, QUESTION_CODE_CHARS)}\n\`\`\``;
    }
    const d = topics[rng.int(0, topics.length)];
    const snippet = d.file.text.split('\n').slice(d.line, d.line + 24).join('\n').slice(0, QUESTION_CODE_CHARS);
    return `${QUESTIONS[rng.int(0, QUESTIONS.length)](d.name, d.file.path)}\n\n\`\`\`\n${snippet}\n\`\`\``;
  }));
  return { options, durationMs, keystrokes, asks: keystrokes.filter((k) => k.asks).length, chats, files: files.map((f) => f.path) };
}
