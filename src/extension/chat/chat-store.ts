// Chat history: chats with their messages, the active chat, bounded and sanitised when read
// back from workspaceState. vscode-free; the view saves it through the callback.
import type { ChatMessage } from '../../shared/protocol';
import type { ChatSummary, ChatViewMessage } from '../../shared/webview-protocol';

export interface StoredMessage extends ChatViewMessage {
  /** Editor context sent with a user message (not shown, only its label). */
  contextText?: string;
}

export interface StoredChat {
  id: string;
  title: string;
  createdAt: number;
  messages: StoredMessage[];
}

export interface ChatState {
  chats: StoredChat[];
  activeId: string;
}

export const MAX_CHATS = 30;
const MAX_MESSAGES = 200;
/** Characters of history sent with a request (oldest turns are dropped first). */
const MAX_HISTORY_CHARS = 24_000;

let counter = 0;
const newId = (): string => `c${Date.now().toString(36)}${(counter++).toString(36)}`;

function sanitizeMessage(m: unknown): StoredMessage | undefined {
  if (!m || typeof m !== 'object') return undefined;
  const r = m as Record<string, unknown>;
  if ((r.role !== 'user' && r.role !== 'assistant') || typeof r.content !== 'string') return undefined;
  const out: StoredMessage = { role: r.role, content: r.content };
  if (typeof r.contextLabel === 'string') out.contextLabel = r.contextLabel;
  if (typeof r.contextText === 'string') out.contextText = r.contextText;
  if (typeof r.error === 'string') out.error = r.error;
  if (r.stopped === true) out.stopped = true;
  return out;
}

export function sanitizeChatState(raw: unknown): ChatState {
  const chats: StoredChat[] = [];
  const list = raw && typeof raw === 'object' ? (raw as { chats?: unknown }).chats : undefined;
  if (Array.isArray(list)) {
    for (const c of list.slice(-MAX_CHATS)) {
      if (!c || typeof c !== 'object') continue;
      const r = c as Record<string, unknown>;
      if (typeof r.id !== 'string' || !r.id) continue;
      const messages = Array.isArray(r.messages) ? r.messages.map(sanitizeMessage).filter((m): m is StoredMessage => !!m).slice(-MAX_MESSAGES) : [];
      chats.push({ id: r.id, title: typeof r.title === 'string' ? r.title : 'Chat', createdAt: typeof r.createdAt === 'number' ? r.createdAt : 0, messages });
    }
  }
  const activeRaw = (raw as { activeId?: unknown } | undefined)?.activeId;
  if (chats.length === 0) chats.push({ id: newId(), title: 'New chat', createdAt: Date.now(), messages: [] });
  const activeId = typeof activeRaw === 'string' && chats.some((c) => c.id === activeRaw) ? activeRaw : chats[chats.length - 1].id;
  return { chats, activeId };
}

export class ChatStore {
  private state: ChatState;

  constructor(raw: unknown, private readonly save: (s: ChatState) => void) {
    this.state = sanitizeChatState(raw);
  }

  get activeId(): string {
    return this.state.activeId;
  }

  get(id: string): StoredChat | undefined {
    return this.state.chats.find((c) => c.id === id);
  }

  active(): StoredChat {
    return this.get(this.state.activeId) ?? this.state.chats[this.state.chats.length - 1];
  }

  /** A new empty chat, made active; reuses the active chat if it is still empty. */
  create(isStreaming: (id: string) => boolean = () => false): StoredChat {
    const cur = this.active();
    if (cur && cur.messages.length === 0 && !isStreaming(cur.id)) return cur;
    const chat: StoredChat = { id: newId(), title: 'New chat', createdAt: Date.now(), messages: [] };
    this.state.chats.push(chat);
    // Drop the oldest chats that are not streaming past the limit.
    while (this.state.chats.length > MAX_CHATS) {
      const i = this.state.chats.findIndex((c) => !isStreaming(c.id));
      if (i < 0) break;
      this.state.chats.splice(i, 1);
    }
    this.state.activeId = chat.id;
    this.persist();
    return chat;
  }

  select(id: string): boolean {
    if (!this.get(id)) return false;
    this.state.activeId = id;
    this.persist();
    return true;
  }

  delete(id: string): void {
    this.state.chats = this.state.chats.filter((c) => c.id !== id);
    if (this.state.chats.length === 0) this.state.chats.push({ id: newId(), title: 'New chat', createdAt: Date.now(), messages: [] });
    if (!this.get(this.state.activeId)) this.state.activeId = this.state.chats[this.state.chats.length - 1].id;
    this.persist();
  }

  addUser(chatId: string, text: string, context?: { label: string; text: string }): void {
    const chat = this.require(chatId);
    if (chat.messages.length === 0) chat.title = title(text);
    chat.messages.push({ role: 'user', content: text, ...(context ? { contextLabel: context.label, contextText: context.text } : {}) });
    chat.messages.push({ role: 'assistant', content: '' });
    if (chat.messages.length > MAX_MESSAGES) chat.messages.splice(0, chat.messages.length - MAX_MESSAGES);
    this.persist();
  }

  /** Appends streamed text to the chat's last (assistant) message; saved when the answer ends. */
  append(chatId: string, text: string): void {
    const last = this.get(chatId)?.messages.at(-1);
    if (last?.role === 'assistant') last.content += text;
  }

  finish(chatId: string, end: { stopped?: boolean; error?: string }): void {
    const last = this.get(chatId)?.messages.at(-1);
    if (last?.role === 'assistant') {
      if (end.stopped) last.stopped = true;
      if (end.error) last.error = end.error;
    }
    this.persist();
  }

  /** The request messages for a chat's pending answer: system prompt, then the turns that fit. */
  requestMessages(chatId: string, systemPrompt: string): ChatMessage[] {
    const msgs = this.require(chatId).messages.slice(0, -1);
    const turns: ChatMessage[] = [];
    let chars = 0;
    for (let i = msgs.length - 1; i >= 0; i--) {
      const m = msgs[i];
      if (m.role === 'assistant' && (m.error || !m.content)) continue;
      const content = m.role === 'user' && m.contextText ? `${m.contextText}\n\n${m.content}` : m.content;
      if (turns.length > 0 && chars + content.length > MAX_HISTORY_CHARS) break;
      chars += content.length;
      turns.unshift({ role: m.role, content });
    }
    return systemPrompt ? [{ role: 'system', content: systemPrompt }, ...turns] : turns;
  }

  summaries(isStreaming: (id: string) => boolean): ChatSummary[] {
    return this.state.chats.map((c) => ({ id: c.id, title: c.title, streaming: isStreaming(c.id) }));
  }

  private require(id: string): StoredChat {
    const c = this.get(id);
    if (!c) throw new Error(`no chat ${id}`);
    return c;
  }

  private persist(): void {
    this.save(this.state);
  }
}

function title(text: string): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > 40 ? `${t.slice(0, 39)}…` : t || 'Chat';
}
