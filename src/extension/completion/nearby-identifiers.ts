// The identifiers whose definitions a completion looks up, vscode-free: those on the cursor's line
// (nearest the cursor first), then those on the line before (from its end); unique, not keywords,
// not the word the cursor is in or at the end of (it is being typed).

/** Identifiers looked up per completion. */
export const MAX_IDENTIFIERS = 4;
const IDENTIFIER = /[A-Za-z_$][\w$]*/g;
/** Words whose definition says nothing (keywords of the common languages). */
const KEYWORDS = new Set(('if else for while do return const let var function class new this self true false null undefined None True False ' +
  'import from export default def in of and or not is as async await yield try catch finally throw raise with pass break continue ' +
  'public private protected static void int string number boolean fn pub mut impl use struct enum type interface extends implements').split(' '));

export interface IdentifierAt {
  name: string;
  /** 0: the cursor's line; -1: the line before. */
  lineOffset: 0 | -1;
  character: number;
}

export function nearbyIdentifiers(line: string, lineBefore: string | undefined, character: number): IdentifierAt[] {
  const found: (IdentifierAt & { distance: number })[] = [];
  for (const m of line.matchAll(IDENTIFIER)) {
    const start = m.index ?? 0;
    const end = start + m[0].length;
    if ((start < character && character <= end) || !worthLooking(m[0])) continue;
    found.push({ name: m[0], lineOffset: 0, character: start, distance: end <= character ? character - end : start - character });
  }
  // Every identifier of the line before comes after those of the cursor's line.
  for (const m of (lineBefore ?? '').matchAll(IDENTIFIER)) {
    const start = m.index ?? 0;
    if (!worthLooking(m[0])) continue;
    found.push({ name: m[0], lineOffset: -1, character: start, distance: line.length + 1 + (lineBefore ?? '').length - start - m[0].length });
  }
  found.sort((a, b) => a.distance - b.distance);
  const names = new Set<string>();
  const out: IdentifierAt[] = [];
  for (const { distance: _d, ...f } of found) {
    if (names.has(f.name)) continue;
    names.add(f.name);
    out.push(f);
    if (out.length === MAX_IDENTIFIERS) break;
  }
  return out;
}

const worthLooking = (word: string) => word.length >= 2 && !KEYWORDS.has(word);
