// Fill-in-the-middle context as the extension sends it: the text before and after the cursor,
// bounded in characters and cut at line boundaries so the model never sees half a line at either
// edge (the server fits it to the model's context, src/server/fim/). Shared with the editor
// benchmark, which builds its completions the same way.

/** What the extension sends around the cursor by default (`mlxBatch.completion.maxPrefixChars` / `maxSuffixChars`). */
export const DEFAULT_FIM_CONTEXT_CHARS = { prefix: 4000, suffix: 1500 };
/** The extension's wait after a keystroke before it asks (`mlxBatch.completion.debounceMs`). */
export const DEFAULT_COMPLETION_DEBOUNCE_MS = 150;

export interface FimContext {
  prefix: string;
  suffix: string;
  /** Text of the cursor's line before and after the cursor. */
  lineBefore: string;
  lineAfter: string;
}

export function buildFimContext(before: string, after: string, maxPrefixChars: number, maxSuffixChars: number): FimContext {
  let prefix = before;
  if (prefix.length > maxPrefixChars) {
    prefix = prefix.slice(prefix.length - maxPrefixChars);
    const nl = prefix.indexOf('\n');
    // Keep the cursor line whole even if it alone is longer than the budget.
    if (nl >= 0 && nl < prefix.length - 1) prefix = prefix.slice(nl + 1);
  }
  let suffix = after;
  if (suffix.length > maxSuffixChars) {
    suffix = suffix.slice(0, maxSuffixChars);
    const nl = suffix.lastIndexOf('\n');
    suffix = nl >= 0 ? suffix.slice(0, nl + 1) : '';
  }
  const lineStart = before.lastIndexOf('\n') + 1;
  const lineEnd = after.indexOf('\n');
  return {
    prefix,
    suffix,
    lineBefore: before.slice(lineStart),
    lineAfter: lineEnd < 0 ? after : after.slice(0, lineEnd),
  };
}
