// Single-line or multi-line: mid-line text after the cursor asks for the rest of the line only;
// an empty line or a line that opens a block asks for the block.

export type CompletionMode = 'single-line' | 'multi-line';

const OPENS_BLOCK = /(\{|\(|\[|:|=>|->|\bdo|\bthen)\s*$/;
const ONLY_CLOSERS = /^[\s)\]}'"`;,]*$/;

export function completionMode(lineBefore: string, lineAfter: string): CompletionMode {
  if (!ONLY_CLOSERS.test(lineAfter)) return 'single-line';
  if (lineBefore.trim() === '') return 'multi-line';
  return OPENS_BLOCK.test(lineBefore) ? 'multi-line' : 'single-line';
}

/** Server-side stop strings per mode (the server never includes them in the text). */
export function stopStrings(mode: CompletionMode): string[] {
  return mode === 'single-line' ? ['\n'] : ['\n\n\n'];
}
