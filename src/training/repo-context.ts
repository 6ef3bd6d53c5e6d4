// Repository-level context for the FIM evaluation: for a held-out case, pieces of the other files
// of its package, the way an editor's context gatherer finds them (files of the same project,
// windows sharing identifiers with the text around the cursor). Nothing is taken from the case's
// own module (its other builds: `x.ts`, `x.d.ts`, `x.js`) or from a file that holds most of it (a
// bundle): those would hand the model the answer rather than the project around it.
import type { ExtraContextChunk } from '../shared/protocol';
import { moduleKey, type SourceFile } from './corpus';
import { longLineShare } from './held-out-copies';

export interface RepoContextOptions {
  /** Lines per piece. */
  chunkLines: number;
  /** Most pieces per case, the ones sharing the most identifiers first. */
  maxChunks: number;
}

export const DEFAULT_REPO_CONTEXT: RepoContextOptions = { chunkLines: 32, maxChunks: 8 };

/** A sibling holding this share of the case file's long lines is a copy of it, not context. */
const COPY_LIMIT = 0.5;

/** Identifiers worth matching: four characters or more. */
function identifiers(text: string): Set<string> {
  return new Set(text.match(/[A-Za-z_$][\w$]{3,}/g) ?? []);
}

/** Pieces of `files` (same package, other modules) for a case of `file`, best first. */
export function repoContextFor(
  c: { file: string; prefix: string; suffix: string }, files: readonly SourceFile[], o: RepoContextOptions = DEFAULT_REPO_CONTEXT,
): ExtraContextChunk[] {
  const own = files.find((f) => f.path === c.file);
  if (!own) return [];
  const key = moduleKey(own);
  const visible = identifiers(`${c.prefix}\n${c.suffix}`);
  const scored: { piece: ExtraContextChunk; score: number; order: number }[] = [];
  for (const f of files) {
    if (f.pkg !== own.pkg || f.path === own.path || moduleKey(f) === key) continue;
    if (longLineShare(own.text, f.text) >= COPY_LIMIT) continue;
    const lines = f.text.split('\n');
    for (let at = 0; at < lines.length; at += o.chunkLines) {
      const text = lines.slice(at, at + o.chunkLines).join('\n');
      let score = 0;
      for (const id of identifiers(text)) if (visible.has(id)) score++;
      if (score > 0) scored.push({ piece: { filename: f.path, text }, score, order: scored.length });
    }
  }
  scored.sort((a, b) => b.score - a.score || a.order - b.order);
  return scored.slice(0, o.maxChunks).map((s) => s.piece);
}
