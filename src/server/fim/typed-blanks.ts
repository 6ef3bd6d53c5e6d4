// Server side of fill-in-the-middle, whitespace healing: an editor cursor often sits after blanks
// the user (or auto-indent) typed. Tokenizers glue a space to the word after it, so a prompt
// ending in bare blanks is one a model rarely saw in training. The prompt goes without them; the
// model writes them again, and the answer's start loses as much of them as it repeats.
import type { GenerationEvent } from '../../batching/generation-stream';

/** The prefix without its trailing spaces and tabs, and those blanks. */
export function splitTrailingBlanks(prefix: string): { prefix: string; blanks: string } {
  const m = /[ \t]+$/.exec(prefix);
  return m ? { prefix: prefix.slice(0, m.index), blanks: m[0] } : { prefix, blanks: '' };
}

/** The events with `typed` taken off the start of the text, as far as the text repeats it. */
export async function* dropTypedStart(events: AsyncIterable<GenerationEvent>, typed: string): AsyncIterable<GenerationEvent> {
  let pending = typed;
  for await (const e of events) {
    if (e.type !== 'delta' || pending.length === 0) {
      yield e;
      continue;
    }
    let i = 0;
    while (i < e.text.length && i < pending.length && e.text[i] === pending[i]) i++;
    // All of this delta repeats typed text: wait for the next one. Otherwise matching ends here.
    pending = i === e.text.length ? pending.slice(i) : '';
    if (i < e.text.length) yield { ...e, text: e.text.slice(i) };
  }
}
