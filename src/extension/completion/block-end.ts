// Where a completion should end: the end of the line (single-line), or the end of the block the
// cursor is in (multi-line: the first line indented less than the cursor's line, the closing
// line of a block the cursor line opened, or a line the document already has next).
import type { CompletionMode } from './completion-mode';

export interface TrimInput {
  mode: CompletionMode;
  lineBefore: string;
  lineAfter: string;
  /** The first non-blank line after the cursor's line, if any. */
  nextLine?: string;
}

export interface Trimmed {
  text: string;
  /** True when the end was found: more generated text cannot change the result. */
  complete: boolean;
}

const indentOf = (line: string): number => line.length - line.trimStart().length;
const CLOSER = /^[)\]}]/;

/** `final`: the stream has ended, so its last line is whole too. */
export function trimCompletion(raw: string, input: TrimInput, final = false): Trimmed {
  const text = raw.replace(/\r\n/g, '\n');
  if (input.mode === 'single-line') {
    const nl = text.indexOf('\n');
    const line = (nl < 0 ? text : text.slice(0, nl)).trimEnd();
    return { text: dropSuffixOverlap(line, input.lineAfter), complete: nl >= 0 || final };
  }
  const lines = text.split('\n');
  const base = indentOf(input.lineBefore.trim() === '' ? input.lineBefore + 'x' : input.lineBefore);
  const opened = /[{([]\s*$/.test(input.lineBefore + lines[0]);
  const next = input.nextLine?.trim();
  const kept: string[] = [lines[0]];
  let complete = false;
  // While streaming, the last line may still grow: it is judged only once the stream has ended.
  const whole = final ? lines.length : lines.length - 1;
  for (let i = 1; i < whole; i++) {
    const line = lines[i];
    if (line.trim() === '') {
      kept.push(line);
      continue;
    }
    const ind = indentOf(line);
    if (ind < base || (next && line.trim() === next && ind <= base)) {
      complete = true;
      break;
    }
    if (opened && ind === base && CLOSER.test(line.trimStart())) {
      kept.push(line);
      complete = true;
      break;
    }
    kept.push(line);
  }
  if (!complete && !final && lines.length > 1) kept.push(lines[lines.length - 1]);
  const out = kept.join('\n').replace(/\s+$/, '');
  return { text: out, complete: complete || final };
}

/** Drops the end of a single-line completion that repeats what already follows the cursor. */
function dropSuffixOverlap(line: string, lineAfter: string): string {
  const after = lineAfter.trim();
  if (after && line.endsWith(after)) return line.slice(0, line.length - after.length).trimEnd();
  return line;
}
