// The editor edge of the context ring: queues a chunk around the cursor of each editor the user
// opens, around the line edited once edits pause, around the cursor (or the last edit) of a saved
// file, and from text copied in the editor. Runs the refresh tick. Only documents
// `isContextDocument` accepts give chunks.
import * as vscode from 'vscode';
import type { Settings } from '../settings';
import { chunkFilename, isContextDocument } from './context-files';
import { chunkText, linesAround, type ContextRing } from './context-ring';

/** Copied text longer than this is not read into a chunk. */
const MAX_CLIPBOARD_CHARS = 64 * 1024;
/** The filename of copied text found in no open editor. */
const CLIPBOARD_NAME = 'clipboard';

export class ContextGatherer implements vscode.Disposable {
  private readonly subscriptions: vscode.Disposable[] = [];
  private readonly visible = new Set<vscode.TextDocument>();
  /** The line last edited in each document, for a save. */
  private readonly lastEdit = new WeakMap<vscode.TextDocument, number>();
  private pendingEdit: { document: vscode.TextDocument; line: number; timer: NodeJS.Timeout } | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  /** The clipboard's text when last read; undefined until the first read, which only records it. */
  private clipboard: string | undefined;
  private disposed = false;

  constructor(
    private readonly ring: ContextRing,
    private readonly settings: () => Settings,
    /** Called after the clipboard is read on each refresh tick (moves queued chunks in, warms the server). */
    private readonly onTick: () => void,
    private readonly log: (message: string) => void,
  ) {
    this.subscriptions.push(
      vscode.window.onDidChangeVisibleTextEditors((editors) => this.onVisible(editors)),
      vscode.workspace.onDidChangeTextDocument((e) => this.onEdit(e)),
      vscode.workspace.onDidSaveTextDocument((d) => this.onSave(d)),
    );
    this.onVisible(vscode.window.visibleTextEditors);
    this.schedule();
  }

  dispose(): void {
    this.disposed = true;
    for (const s of this.subscriptions) s.dispose();
    if (this.pendingEdit) clearTimeout(this.pendingEdit.timer);
    if (this.tickTimer) clearTimeout(this.tickTimer);
  }

  private get options(): Settings['completion']['context'] {
    return this.settings().completion.context;
  }

  /** Queues the chunk of `document` around `line`, if the document may give one. */
  private pick(document: vscode.TextDocument, line: number): void {
    const o = this.options;
    if (!o.enabled || document.isClosed || !isContextDocument(document, o.maxFileKB)) return;
    const { start, end } = linesAround(document.lineCount, line, o.chunkLines);
    const lines: string[] = [];
    for (let l = start; l < end; l++) lines.push(document.lineAt(l).text);
    this.ring.add({ filename: chunkFilename(document.uri), text: chunkText(lines) });
  }

  /** A document that became visible gives the chunk around its cursor. */
  private onVisible(editors: readonly vscode.TextEditor[]): void {
    const now = new Set(editors.map((e) => e.document));
    for (const e of editors) if (!this.visible.has(e.document)) this.pick(e.document, e.selection.active.line);
    this.visible.clear();
    for (const d of now) this.visible.add(d);
  }

  /** Edits in a visible document (the user's, not a refactoring's in the background) give a chunk once they pause. */
  private onEdit(e: vscode.TextDocumentChangeEvent): void {
    const change = e.contentChanges[0];
    if (!change || !this.visible.has(e.document)) return;
    const line = change.range.start.line;
    this.lastEdit.set(e.document, line);
    const pending = this.pendingEdit;
    if (pending) {
      clearTimeout(pending.timer);
      if (pending.document !== e.document) this.pick(pending.document, pending.line);
    }
    const timer = setTimeout(() => {
      this.pendingEdit = undefined;
      this.pick(e.document, line);
    }, this.options.refreshMs);
    this.pendingEdit = { document: e.document, line, timer };
  }

  private onSave(document: vscode.TextDocument): void {
    const editor = vscode.window.activeTextEditor;
    const line = editor?.document === document ? editor.selection.active.line : this.lastEdit.get(document) ?? 0;
    this.pick(document, line);
  }

  /** Copied text (read while the editor window has focus) becomes a chunk, named after the open file it came from. */
  private async readClipboard(): Promise<void> {
    if (!vscode.window.state.focused) return;
    const text = await vscode.env.clipboard.readText();
    const first = this.clipboard === undefined;
    if (text === this.clipboard) return;
    this.clipboard = text;
    // What was copied before the editor started is not taken.
    if (first || !text.trim() || text.length > MAX_CLIPBOARD_CHARS) return;
    const o = this.options;
    const source = vscode.window.visibleTextEditors.map((e) => e.document).find((d) => d.getText().includes(text));
    if (source && !isContextDocument(source, o.maxFileKB)) return;
    const lines = text.split(/\r?\n/).slice(0, o.chunkLines);
    this.ring.add({ filename: source ? chunkFilename(source.uri) : CLIPBOARD_NAME, text: chunkText(lines) });
  }

  private schedule(): void {
    if (this.disposed) return;
    this.tickTimer = setTimeout(() => void this.tick(), this.options.refreshMs);
  }

  private async tick(): Promise<void> {
    try {
      const o = this.options;
      this.ring.setMaxChunks(o.maxChunks);
      if (o.enabled) await this.readClipboard();
      this.onTick();
    } catch (e) {
      this.log(`context refresh failed: ${(e as Error).message}`);
    } finally {
      this.schedule();
    }
  }
}
