// The editor benchmark's trace: the same for a seed, typing at the asked pace, a completion asked
// for only where the debounce lets one through, contexts cut as the extension cuts them,
// questions about the files' declarations.
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
    assert.notDeepEqual(other.keystrokes.map((k) => k.prefix), editorTrace(EDITOR_SOURCE_FILES, options).keystrokes.map((k) => k.prefix));
  });

  it('types at the asked pace for the asked time, asking for a completion only after a pause longer than the debounce', () => {
    const t = editorTrace(EDITOR_SOURCE_FILES, options);
    const n = t.keystrokes.length;
    // A keystroke every 75-225 ms, plus pauses: between a third and the full minute's worth at 150 ms.
    assert.ok(n > 60_000 / 150 / 3 && n < 60_000 / 150, `${n} keystrokes`);
    assert.equal(t.asks, t.keystrokes.filter((k) => k.asks).length);
    assert.ok(t.asks > 0.2 * n && t.asks < n, `${t.asks} asking`);
    t.keystrokes.forEach((k, i) => {
      const next = t.keystrokes[i + 1];
      assert.ok(k.atMs < 60_000 && (!next || next.atMs > k.atMs));
      assert.equal(k.asks, (!next || next.atMs - k.atMs > DEFAULT_COMPLETION_DEBOUNCE_MS) && k.atMs + DEFAULT_COMPLETION_DEBOUNCE_MS < 60_000, `keystroke ${i}`);
      assert.ok(k.prefix.length <= DEFAULT_FIM_CONTEXT_CHARS.prefix + 200 && k.suffix.length <= DEFAULT_FIM_CONTEXT_CHARS.suffix);
      assert.ok(EDITOR_SOURCE_FILES.some((f) => f.path === k.file && f.text.includes(k.suffix)), 'the suffix is the file after the line');
    });
    // Typing one character more: the next keystroke's prefix adds what was typed (within a line).
    const sameLine = t.keystrokes.findIndex((k, i) => t.keystrokes[i + 1]?.suffix === k.suffix && t.keystrokes[i + 1].prefix.startsWith(k.prefix));
    assert.ok(sameLine >= 0 && t.keystrokes[sameLine + 1].prefix.length === t.keystrokes[sameLine].prefix.length + 1);
    // Faster typing leaves fewer pauses long enough for a completion.
    const fast = editorTrace(EDITOR_SOURCE_FILES, { ...options, typingMs: 60 });
    assert.ok(fast.asks / fast.keystrokes.length < t.asks / n);
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
