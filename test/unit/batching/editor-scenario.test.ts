// The editor scenario's replay against a scripted target: keystrokes meet completions as in the
// extension. A request whose text the typing agrees with answers the next keystrokes (no new
// request); one the typing contradicts is cancelled and a pause sends a new one; the counts and
// the batching switch follow.
import assert from 'node:assert/strict';
import { runEditorMode, type EditorTarget } from '../../../src/batching/benchmark/editor-scenario';
import type { EditorTrace, TracedKeystroke } from '../../../src/batching/benchmark/editor-trace';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Typing `typed` after `start` on one line, a keystroke every 80 ms, each one asking. */
function trace(start: string, typed: string): EditorTrace {
  const keystrokes: TracedKeystroke[] = [...typed].map((_, i) => ({ atMs: i * 80, file: 'a.ts', prefix: start + typed.slice(0, i + 1), suffix: '\n}\n', asks: true }));
  return {
    options: { seed: 1, chats: 0, typingMs: 80, durationS: 1, debounceMs: 10 },
    durationMs: keystrokes.length * 80 + 300, keystrokes, asks: keystrokes.length, chats: [], files: ['a.ts'],
  };
}

/** Answers every completion with `answer(prefix)`, a character every `gapMs`. */
function target(answer: (prefix: string) => string, gapMs: number): EditorTarget & { sent: string[]; batching: boolean[] } {
  const sent: string[] = [];
  const batching: boolean[] = [];
  return {
    sent,
    batching,
    async *complete(c, _o, signal) {
      sent.push(c.prefix);
      for (const ch of answer(c.prefix)) {
        await sleep(gapMs);
        if (signal.aborted) return;
        yield ch;
      }
    },
    async *chat() { return; },
    setBatching: (on) => { batching.push(on); },
    running: () => 0,
  };
}

describe('editor scenario replay', () => {
  it('lets a completion the typing agrees with answer the next keystrokes, without new requests', async () => {
    // After "return f" the model says "oo(1);": typing "o", "o" agrees with it.
    const t = target(() => 'oo(1);', 2);
    const r = await runEditorMode(t, trace('  return ', 'foo'), 'batched-priority');
    assert.deepEqual(t.sent, ['  return f'], 'one request answered all three keystrokes');
    assert.equal(r.completionsSent, 1);
    assert.equal(r.completionsServed, 1);
    assert.equal(r.completionTtftSamplesMs.length, 1);
    assert.deepEqual(t.batching, [true]);
  });

  it('cancels a completion the typing contradicts and sends a new one after the pause', async () => {
    // The model keeps saying "bar()", slowly: the typed "o" contradicts it while it streams.
    const t = target(() => 'bar();', 30);
    const r = await runEditorMode(t, trace('  return ', 'foo'), 'sequential');
    assert.deepEqual(t.sent, ['  return f', '  return fo', '  return foo']);
    assert.equal(r.completionsSent, 3);
    assert.equal(r.completionsServed, 3, 'each showed its first characters before the next keystroke');
    assert.equal(r.completionLineMs.p50 > 0 && r.completionTtftSamplesMs.length, 3);
    assert.deepEqual(t.batching, [false], 'sequential turns batching off');
  });

  it('cancels a request that has not answered when the cursor leaves its line, and counts it', async () => {
    // Slow to answer: the user moves to the next line before the first character comes.
    const t = target(() => 'x', 250);
    const two = trace('  return ', 'ab');
    two.keystrokes[1] = { ...two.keystrokes[1], prefix: '  return a\n}\n', suffix: '' };
    const r = await runEditorMode(t, two, 'batched');
    assert.deepEqual(t.sent, ['  return a', '  return a\n}\n']);
    assert.equal(r.completionsSent, 2);
    assert.equal(r.completionsCancelled, 1, 'the first never answered');
    assert.equal(r.completionsServed, 1);
  });
});
