// Server side of fill-in-the-middle: llama.cpp's `n_indent`. An infill at an indented cursor
// belongs to that block; a later line indented less has left it, so generation stops there and
// the answer ends before that line's first character (llama.cpp keeps the line's blanks too).

/**
 * Where to cut `text` (an infill so far): the first non-blank character of the first line after
 * the cursor's line that is indented less than `indent` columns (a space or a tab is one column);
 * undefined while no such line has shown a non-blank character.
 */
export function indentCut(text: string, indent: number): number | undefined {
  if (indent <= 0) return undefined;
  for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', nl + 1)) {
    let at = nl + 1;
    while (at < text.length && (text[at] === ' ' || text[at] === '\t')) at++;
    if (at < text.length && text[at] !== '\n' && at - (nl + 1) < indent) return at;
  }
  return undefined;
}
