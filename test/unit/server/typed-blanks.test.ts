// Whitespace healing: a FIM prefix's trailing blanks leave the prompt, and the answer's start
// loses as much of them as the model writes again, however the text is split into deltas.
import assert from 'node:assert/strict';
import type { GenerationEvent } from '../../../src/batching/generation-stream';
import { dropTypedStart, splitTrailingBlanks } from '../../../src/server/fim/typed-blanks';

async function run(deltas: string[], typed: string): Promise<GenerationEvent[]> {
  async function* events(): AsyncIterable<GenerationEvent> {
    for (const text of deltas) yield { type: 'delta', text, tokens: [0] };
    yield { type: 'finish', finishReason: 'stop', usage: { promptTokens: 3, completionTokens: deltas.length, cachedTokens: 0, acceptedDraftTokens: 0, rejectedDraftTokens: 0 }, timing: { totalMs: 1 } };
  }
  const out: GenerationEvent[] = [];
  for await (const e of dropTypedStart(events(), typed)) out.push(e);
  return out;
}

const text = (events: GenerationEvent[]) => events.map((e) => (e.type === 'delta' ? e.text : '')).join('');

describe('typed blanks (FIM whitespace healing)', () => {
  it('splits only the trailing spaces and tabs of a prefix', () => {
    assert.deepEqual(splitTrailingBlanks('f() {\n  '), { prefix: 'f() {\n', blanks: '  ' });
    assert.deepEqual(splitTrailingBlanks('return \t'), { prefix: 'return', blanks: ' \t' });
    assert.deepEqual(splitTrailingBlanks('x\n'), { prefix: 'x\n', blanks: '' });
    assert.deepEqual(splitTrailingBlanks('   '), { prefix: '', blanks: '   ' });
  });

  it('drops the typed blanks the answer repeats, across deltas, and keeps the rest', async () => {
    assert.equal(text(await run(['  return x;'], '  ')), 'return x;');
    assert.equal(text(await run([' ', ' ', '  return', ' x;'], '  ')), '  return x;', 'deeper indentation keeps its extra blanks');
    assert.equal(text(await run([' x'], '  ')), 'x', 'a shorter repeat is dropped as far as it goes');
    assert.equal(text(await run(['}', '\n'], '  ')), '}\n', 'an answer that does not repeat them is untouched');
    assert.equal(text(await run(['\n  y'], '  ')), '\n  y', 'matching stops at the first difference');
  });

  it('passes the finish event, and everything when nothing was typed', async () => {
    const events = await run(['a', 'b'], '');
    assert.deepEqual(events.map((e) => e.type), ['delta', 'delta', 'finish']);
    assert.equal(text(events), 'ab');
    assert.equal((await run(['  '], '  ')).at(-1)?.type, 'finish');
  });
});
