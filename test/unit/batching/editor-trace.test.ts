// The editor benchmark's trace: the same for a seed, typing at the asked pace, a completion only
// where the debounce lets one through (cancelled by the next keystroke), contexts cut as the
// extension cuts them, questions about the files' declarations.
import assert from 'node:assert/strict';
import { editorTrace } from '../../../src/batching/benchmark/editor-trace';
import { EDITOR_SOURCE_FILES } from '../../../src/batching/benchmark/prompts';
import { DEFAULT_COMPLETION_DEBOUNCE_MS, DEFAULT_FIM_CONTEXT_CHARS } from '../../../src/shared/fim-context';
import { MlxBatchError } from '../../../src/shared/errors';

const options = { seed: 7, chats: 2, typingMs: 150, durationS: 60 };

describe('editor benchmark trace', () => {
  it('is the same for a seed and another for another seed', () => {
    assert.deepEqual(editorTrace(EDITOR_SOURCE_FILES, options), editorTrace(EDITOR_SOURCE_FILES, options));
    const other = editorTrace(EDITOR_SOURCE_FILES, { ...options, seed: 8 });
    assert.notDeepEqual(other.completions.map((c) => c.prefix), editorTrace(EDITOR_SOURCE_FILES, options).completions.map((c) => c.prefix));
  });

  it('types at the asked pace for the asked time, and asks for a completion only after a pause longer than the debounce', () => {
    const t = editorTrace(EDITOR_SOURCE_FILES, options);
    // A keystroke every 75-225 ms, plus pauses: between a third and the full minute's worth at 150 ms.
    assert.ok(t.keystrokes > 60_000 / 150 / 3 && t.keystrokes < 60_000 / 150, `${t.keystrokes} keystrokes`);
    assert.ok(t.completions.length > 0.2 * t.keystrokes && t.completions.length < t.keystrokes, `${t.completions.length} completions`);
    let last = -Infinity;
    for (const c of t.completions) {
      assert.ok(c.atMs > last && c.atMs < 60_000, 'within the trace');
      const typedAt = c.atMs - DEFAULT_COMPLETION_DEBOUNCE_MS;
      assert.ok(c.cancelAtMs === undefined || c.cancelAtMs - typedAt > DEFAULT_COMPLETION_DEBOUNCE_MS, 'sent only after a pause longer than the debounce');
      last = c.atMs;
      if (c.cancelAtMs !== undefined) assert.ok(c.cancelAtMs > c.atMs, 'the next keystroke comes after the request went out');
      assert.ok(c.prefix.length <= DEFAULT_FIM_CONTEXT_CHARS.prefix + 200 && c.suffix.length <= DEFAULT_FIM_CONTEXT_CHARS.suffix);
      assert.ok(EDITOR_SOURCE_FILES.some((f) => f.path === c.file && f.text.includes(c.suffix)), 'the suffix is the file after the line');
    }
    // Faster typing leaves fewer pauses long enough for a completion.
    const fast = editorTrace(EDITOR_SOURCE_FILES, { ...options, typingMs: 60 });
    assert.ok(fast.completions.length / fast.keystrokes < t.completions.length / t.keystrokes);
  });

  it('asks each chat stream questions about declarations of the files, with their code', () => {
    const t = editorTrace(EDITOR_SOURCE_FILES, options);
    assert.equal(t.chats.length, 2);
    for (const q of t.chats.flat()) assert.match(q, /`[A-Za-z_$][\w$]*` in (src|scripts|db)\/[\w.]+[\s\S]*```\n[\s\S]+```$/);
    assert.notDeepEqual(t.chats[0], t.chats[1], 'the streams ask different questions');
  });

  it('refuses files with no line of code to type', () => {
    assert.throws(() => editorTrace([{ path: 'empty.txt', text: '\n\n  \n' }], options), (e: unknown) => e instanceof MlxBatchError && e.param === 'files');
  });
});
