// Which documents may give context chunks, and the name a chunk carries: files on disk or
// untitled, not matched by `files.exclude`, not larger than `maxFileKB`.
import * as vscode from 'vscode';

const SCHEMES = new Set(['file', 'untitled']);

export function isContextDocument(document: vscode.TextDocument, maxFileKB: number): boolean {
  if (!SCHEMES.has(document.uri.scheme)) return false;
  const chars = document.offsetAt(document.lineAt(document.lineCount - 1).range.end);
  if (chars > maxFileKB * 1024) return false;
  return !isExcluded(document);
}

/**
 * Matched by a `files.exclude` glob that is on. The globs are relative to the workspace folder, and
 * one naming a folder excludes everything inside it.
 */
function isExcluded(document: vscode.TextDocument): boolean {
  const globs = vscode.workspace.getConfiguration('files', document.uri).get<Record<string, unknown>>('exclude') ?? {};
  const folder = vscode.workspace.getWorkspaceFolder(document.uri);
  const pattern = (glob: string) => (folder ? new vscode.RelativePattern(folder, glob) : glob);
  for (const [glob, on] of Object.entries(globs)) {
    if (on !== true) continue;
    if (vscode.languages.match({ pattern: pattern(glob) }, document) > 0 || vscode.languages.match({ pattern: pattern(`${glob}/**`) }, document) > 0) return true;
  }
  return false;
}

/** The chunk's filename: the path relative to its workspace folder (no home directory in prompts). */
export function chunkFilename(uri: vscode.Uri): string {
  return uri.scheme === 'untitled' ? uri.path : vscode.workspace.asRelativePath(uri, false);
}
