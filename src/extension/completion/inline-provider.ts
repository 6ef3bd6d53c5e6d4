// The editor edge of the completion pipeline: document text around the cursor, the context ring's
// chunks and a lookup of nearby definitions in, one inline item out; the CancellationToken becomes
// an AbortSignal so a stale request is dropped.
import * as vscode from 'vscode';
import type { Settings } from '../settings';
import type { CompletionAnswer, CompletionPipeline } from './completion-pipeline';
import type { ContextRing } from './context-ring';
import { definitionChunks } from './definitions';
import { buildFimContext } from '../../shared/fim-context';
import { isLanguageEnabled } from './languages';

/** Lines read on each side of the cursor before the character bounds apply. */
const WINDOW_LINES = 400;

export class InlineProvider implements vscode.InlineCompletionItemProvider {
  /** The last answer given (for the extension-host tests). */
  lastAnswer: CompletionAnswer | undefined;

  constructor(
    private readonly pipeline: CompletionPipeline,
    private readonly settings: () => Settings,
    private readonly ring: ContextRing,
  ) {}

  async provideInlineCompletionItems(
    document: vscode.TextDocument,
    position: vscode.Position,
    context: vscode.InlineCompletionContext,
    token: vscode.CancellationToken,
  ): Promise<vscode.InlineCompletionItem[] | undefined> {
    const s = this.settings().completion;
    const manual = context.triggerKind === vscode.InlineCompletionTriggerKind.Invoke;
    if (!manual && (!s.enabled || !isLanguageEnabled(s.languages, document.languageId))) return undefined;
    // Do not compete with an open suggestion widget unless asked.
    if (!manual && context.selectedCompletionInfo) return undefined;

    const startLine = Math.max(0, position.line - WINDOW_LINES);
    const endLine = Math.min(document.lineCount - 1, position.line + WINDOW_LINES);
    const before = document.getText(new vscode.Range(startLine, 0, position.line, position.character));
    const after = document.getText(new vscode.Range(position, document.lineAt(endLine).range.end));
    const ctx = buildFimContext(before, after, s.maxPrefixChars, s.maxSuffixChars);
    let nextLine: string | undefined;
    for (let l = position.line + 1; l <= Math.min(endLine, position.line + 5); l++) {
      const text = document.lineAt(l).text;
      if (text.trim()) {
        nextLine = text;
        break;
      }
    }

    const c = s.context;
    const window = { startLine: position.line - lineBreaks(ctx.prefix), endLine: position.line + lineBreaks(ctx.suffix) };
    const definitions = { timeoutMs: c.definitionTimeoutMs, lines: Math.ceil(c.chunkLines / 2), maxFileKB: c.maxFileKB, window };
    const extra = c.enabled ? this.ring.chunks() : undefined;
    const extraLookup = c.enabled && c.definitions ? () => definitionChunks(document, position, definitions, token) : undefined;

    const abort = new AbortController();
    const sub = token.onCancellationRequested(() => abort.abort());
    try {
      const answer = await this.pipeline.complete({ ...ctx, nextLine, manual, signal: abort.signal, extra, extraLookup });
      if (!answer || token.isCancellationRequested) return undefined;
      this.lastAnswer = answer;
      return [new vscode.InlineCompletionItem(answer.text, new vscode.Range(position, position))];
    } finally {
      sub.dispose();
    }
  }
}

const lineBreaks = (text: string): number => text.split('\n').length - 1;
