// The chat webview view: streams answers from /v1/chat/completions into the webview, one
// request per chat so several chats stream at once (each a row in the batch); history is kept
// per workspace in workspaceState.
import * as vscode from 'vscode';
import type { ChatContextKind, ChatToExtension, ChatToWebview } from '../../shared/webview-protocol';
import type { Backend } from '../backend';
import { describeError, isAbort } from '../client/api-error';
import type { Settings } from '../settings';
import { chatRequest } from './chat-request';
import { bundleHtml, webviewRoots } from '../webview/assets';
import { ChatStore, type ChatState } from './chat-store';
import { contextBlock } from './editor-context';

export const CHAT_VIEW_ID = 'mlxBatch.chatView';
const STATE_KEY = 'mlxBatch.chats';

export class ChatViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: vscode.WebviewView | undefined;
  private readonly store: ChatStore;
  private readonly running = new Map<string, AbortController>();
  private lastEditor: vscode.TextEditor | undefined = vscode.window.activeTextEditor;
  private readonly subs: vscode.Disposable[] = [];
  /** Resolvers of answers awaited through `ask` (tests and commands). */
  private readonly waiters = new Map<string, (r: { text: string; stopped: boolean; error?: string }) => void>();

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly backend: Backend,
    private readonly settings: () => Settings,
  ) {
    this.store = new ChatStore(context.workspaceState.get<ChatState>(STATE_KEY), (s) => void context.workspaceState.update(STATE_KEY, s));
    this.subs.push(vscode.window.onDidChangeActiveTextEditor((e) => { if (e) this.lastEditor = e; }));
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    view.webview.options = { enableScripts: true, localResourceRoots: webviewRoots(this.context.extensionUri) };
    view.webview.html = bundleHtml(view.webview, this.context.extensionUri, 'chat', 'MLX Batch Chat',
      '<div id="app" data-testid="chat-app"></div>');
    this.subs.push(view.webview.onDidReceiveMessage((m: ChatToExtension) => void this.onMessage(m)));
    view.onDidDispose(() => { if (this.view === view) this.view = undefined; });
  }

  /** Sends a message in a chat (the active one by default) and resolves with the full answer. */
  ask(text: string, opts: { chatId?: string; context?: ChatContextKind } = {}): Promise<{ text: string; stopped: boolean; error?: string }> {
    const chatId = opts.chatId ?? this.store.activeId;
    if (this.running.has(chatId)) return Promise.resolve({ text: '', stopped: false, error: 'this chat is still answering' });
    return new Promise((resolve) => {
      this.waiters.set(chatId, resolve);
      void this.send(chatId, text, opts.context ?? 'none');
    });
  }

  newChat(): string {
    const chat = this.store.create((id) => this.running.has(id));
    this.postState();
    return chat.id;
  }

  stop(chatId: string): void {
    this.running.get(chatId)?.abort();
  }

  focusInput(): void {
    this.post({ type: 'focusInput' });
  }

  dispose(): void {
    for (const c of this.running.values()) c.abort();
    for (const s of this.subs) s.dispose();
  }

  private async onMessage(m: ChatToExtension): Promise<void> {
    switch (m.type) {
      case 'ready':
        this.postState();
        break;
      case 'send':
        await this.send(m.chatId, m.text, m.context);
        break;
      case 'stop':
        this.stop(m.chatId);
        break;
      case 'newChat':
        this.newChat();
        break;
      case 'selectChat':
        if (this.store.select(m.chatId)) this.postState();
        break;
      case 'deleteChat':
        this.stop(m.chatId);
        this.store.delete(m.chatId);
        this.postState();
        break;
      case 'copy':
        await vscode.env.clipboard.writeText(m.text);
        void vscode.window.setStatusBarMessage('$(check) Copied', 2000);
        break;
      case 'insert':
        await this.insert(m.text);
        break;
    }
  }

  private async send(chatId: string, text: string, contextKind: ChatContextKind): Promise<void> {
    if (!text.trim() || this.running.has(chatId) || !this.store.get(chatId)) {
      this.settle(chatId, { text: '', stopped: false, error: 'nothing to send or the chat is busy' });
      return;
    }
    const ctx = this.editorContext(contextKind);
    if (contextKind !== 'none' && !ctx) void vscode.window.showInformationMessage(`MLX Batch: no ${contextKind === 'selection' ? 'selection' : 'open file'} to attach; sending the message alone.`);
    this.store.addUser(chatId, text, ctx);
    this.store.select(chatId);
    const abort = new AbortController();
    this.running.set(chatId, abort);
    this.postState();

    const settings = this.settings();
    let answer = '';
    let error: string | undefined;
    try {
      const client = await this.backend.client();
      if (!client) throw new Error(this.backend.status.state === 'error' ? this.backend.status.message : 'the model server is not available');
      const request = chatRequest(settings, this.store.requestMessages(chatId, settings.chat.systemPrompt), this.backend.listedModel);
      const stream = client.streamChat(request, { signal: abort.signal, priority: 'normal' });
      // Deltas are batched per animation-ish tick so the webview is not flooded.
      let pending = '';
      let timer: NodeJS.Timeout | undefined;
      const flush = () => {
        timer = undefined;
        if (pending) this.post({ type: 'delta', chatId, text: pending });
        pending = '';
      };
      for await (const chunk of stream) {
        const delta = chunk.choices[0]?.delta?.content ?? '';
        if (!delta) continue;
        answer += delta;
        this.store.append(chatId, delta);
        pending += delta;
        timer ??= setTimeout(flush, 30);
      }
      if (timer) clearTimeout(timer);
      flush();
    } catch (e) {
      if (!isAbort(e) && !abort.signal.aborted) error = describeError(e);
    } finally {
      this.running.delete(chatId);
    }
    const stopped = abort.signal.aborted;
    this.store.finish(chatId, { stopped, error });
    this.post({ type: 'done', chatId, stopped, ...(error ? { error } : {}) });
    this.postState();
    this.settle(chatId, { text: answer, stopped, error });
  }

  private settle(chatId: string, r: { text: string; stopped: boolean; error?: string }): void {
    const w = this.waiters.get(chatId);
    this.waiters.delete(chatId);
    w?.(r);
  }

  private editorContext(kind: ChatContextKind): { label: string; text: string } | undefined {
    const editor = vscode.window.activeTextEditor ?? this.lastEditor;
    if (kind === 'none' || !editor) return undefined;
    const doc = editor.document;
    const path = vscode.workspace.asRelativePath(doc.uri);
    if (kind === 'selection') {
      if (editor.selection.isEmpty) return undefined;
      return contextBlock({ path, languageId: doc.languageId, text: doc.getText(editor.selection), startLine: editor.selection.start.line + 1, endLine: editor.selection.end.line + 1, kind });
    }
    return contextBlock({ path, languageId: doc.languageId, text: doc.getText(), startLine: 1, endLine: doc.lineCount, kind });
  }

  private async insert(text: string): Promise<void> {
    const editor = vscode.window.activeTextEditor ?? this.lastEditor;
    if (!editor) {
      void vscode.window.showWarningMessage('MLX Batch: open an editor to insert the code into.');
      return;
    }
    await editor.edit((b) => {
      for (const sel of editor.selections) b.replace(sel, text);
    });
  }

  private postState(): void {
    const chat = this.store.active();
    const s = this.settings();
    this.post({
      type: 'state',
      chats: this.store.summaries((id) => this.running.has(id)),
      activeId: chat.id,
      messages: chat.messages.map(({ contextText: _omit, ...m }) => m),
      backend: s.backend === 'remote' ? s.remote.url || 'remote' : 'local',
    });
  }

  private post(m: ChatToWebview): void {
    void this.view?.webview.postMessage(m);
  }
}
