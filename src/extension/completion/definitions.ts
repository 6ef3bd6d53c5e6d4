// Definitions of the symbols near the cursor, from the language server (Continue's idea): the
// identifiers `nearbyIdentifiers` picks, asked for their definitions and type definitions all at
// once. Whatever has answered by the deadline, unless the completion was cancelled, becomes chunks
// of lines starting at each definition outside the text the request already sends.
import * as vscode from 'vscode';
import type { ExtraContextChunk } from '../../shared/protocol';
import { chunkFilename, isContextDocument } from './context-files';
import { chunkText } from './context-ring';
import { nearbyIdentifiers } from './nearby-identifiers';

/** Definitions kept per completion. */
const MAX_DEFINITIONS = 4;

export interface DefinitionOptions {
  timeoutMs: number;
  /** Lines per definition chunk. */
  lines: number;
  maxFileKB: number;
  /** Lines of this document already sent as prefix and suffix: definitions there are left out. */
  window: { startLine: number; endLine: number };
}

interface Found {
  uri: vscode.Uri;
  line: number;
}

export async function definitionChunks(document: vscode.TextDocument, position: vscode.Position, opts: DefinitionOptions, token: vscode.CancellationToken): Promise<ExtraContextChunk[]> {
  const before = position.line > 0 ? document.lineAt(position.line - 1).text : undefined;
  const symbols = nearbyIdentifiers(document.lineAt(position.line).text, before, position.character)
    .map((id) => new vscode.Position(position.line + id.lineOffset, id.character));
  if (!symbols.length || token.isCancellationRequested) return [];
  const deadline = Date.now() + opts.timeoutMs;
  // One slot per query, in a fixed order, so the chunks' order does not depend on who answered first.
  const slots: Found[][] = [];
  const queries = symbols.flatMap((at) =>
    ['vscode.executeDefinitionProvider', 'vscode.executeTypeDefinitionProvider'].map((command) => {
      const slot: Found[] = [];
      slots.push(slot);
      return Promise.resolve(vscode.commands.executeCommand<(vscode.Location | vscode.LocationLink)[]>(command, document.uri, at))
        .then((found) => { for (const f of found ?? []) slot.push(target(f)); }, () => undefined);
    }),
  );
  await until(Promise.all(queries), deadline, token);
  if (token.isCancellationRequested) return [];

  const seen = new Set<string>();
  const picked: Found[] = [];
  for (const f of slots.flat()) {
    const key = `${f.uri.toString()}#${f.line}`;
    const inWindow = f.uri.toString() === document.uri.toString() && f.line >= opts.window.startLine && f.line <= opts.window.endLine;
    if (seen.has(key) || inWindow) continue;
    seen.add(key);
    picked.push(f);
    if (picked.length === MAX_DEFINITIONS) break;
  }
  const chunks: (ExtraContextChunk | undefined)[] = [];
  await until(Promise.all(picked.map((f, i) => chunkAt(f, opts).then((c) => { chunks[i] = c; }))), deadline, token);
  if (token.isCancellationRequested) return [];
  return chunks.filter((c): c is ExtraContextChunk => c !== undefined);
}

function target(f: vscode.Location | vscode.LocationLink): Found {
  return 'targetUri' in f ? { uri: f.targetUri, line: f.targetRange.start.line } : { uri: f.uri, line: f.range.start.line };
}

async function chunkAt(f: Found, opts: DefinitionOptions): Promise<ExtraContextChunk | undefined> {
  try {
    const document = await vscode.workspace.openTextDocument(f.uri);
    if (!isContextDocument(document, opts.maxFileKB)) return undefined;
    const lines: string[] = [];
    for (let l = f.line; l < Math.min(document.lineCount, f.line + opts.lines); l++) lines.push(document.lineAt(l).text);
    return { filename: chunkFilename(f.uri), text: chunkText(lines) };
  } catch {
    return undefined;
  }
}

/** `work`'s value, or undefined once the deadline passes or the completion is cancelled. */
function until<T>(work: Promise<T>, deadline: number, token: vscode.CancellationToken): Promise<T | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(undefined), Math.max(0, deadline - Date.now()));
    const sub = token.onCancellationRequested(() => done(undefined));
    function done(v: T | undefined) {
      clearTimeout(timer);
      sub.dispose();
      resolve(v);
    }
    if (token.isCancellationRequested) done(undefined);
    work.then(done, () => done(undefined));
  });
}
