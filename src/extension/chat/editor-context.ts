// The selection or file the user attaches to a chat message, as a fenced block with a label.
// vscode-free: the view passes the document's text and names.

export const MAX_CONTEXT_CHARS = 12_000;

export interface EditorSnapshot {
  /** Workspace-relative path (or file name). */
  path: string;
  languageId: string;
  /** The selected text, or the whole file. */
  text: string;
  /** 1-based first and last line of the text in the file. */
  startLine: number;
  endLine: number;
  kind: 'selection' | 'file';
}

export function contextBlock(s: EditorSnapshot): { label: string; text: string } {
  let text = s.text;
  let truncated = false;
  if (text.length > MAX_CONTEXT_CHARS) {
    text = text.slice(0, MAX_CONTEXT_CHARS);
    truncated = true;
  }
  const range = s.kind === 'selection' ? `:${s.startLine}-${s.endLine}` : '';
  const label = `${s.path}${range}${truncated ? ' (truncated)' : ''}`;
  const fence = text.includes('```') ? '````' : '```';
  const intro = s.kind === 'selection' ? `Selected code from ${s.path} (lines ${s.startLine}-${s.endLine}):` : `The file ${s.path}:`;
  return { label, text: `${intro}\n${fence}${s.languageId}\n${text}\n${fence}` };
}
