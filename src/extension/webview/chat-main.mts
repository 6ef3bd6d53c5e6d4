// The chat webview's script (bundled to dist/webview/chat.js): chat tabs, streaming Markdown,
// code block Copy / Insert, context picker, Send / Stop / New chat. Talks only through postMessage.
import type { ChatContextKind, ChatSummary, ChatToExtension, ChatToWebview, ChatViewMessage } from '../../shared/webview-protocol.js';
import { renderMarkdown } from './markdown.mjs';
import { vscodeApi } from './vscode-api.mjs';

const vscode = vscodeApi<{ draft?: string; context?: ChatContextKind }>();
const post = (m: ChatToExtension) => vscode.postMessage(m);

let chats: ChatSummary[] = [];
let activeId = '';
let messages: ChatViewMessage[] = [];

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

const app = document.getElementById('app')!;
const header = el('div', { class: 'header' });
const tabs = el('div', { id: 'chat-tabs', role: 'tablist', 'aria-label': 'Chats' });
const newChat = el('button', { id: 'new-chat', type: 'button', 'aria-label': 'New chat', title: 'New chat' }, '+');
header.append(tabs, newChat);
const log = el('div', { id: 'messages', role: 'log', 'aria-live': 'polite', 'aria-label': 'Messages' });
const form = el('form', { id: 'composer' });
const prompt = el('textarea', { id: 'prompt', rows: '3', 'aria-label': 'Message', placeholder: 'Ask about your code (Enter to send, Shift+Enter for a new line)' });
const controls = el('div', { class: 'controls' });
const context = el('select', { id: 'context-select', 'aria-label': 'Context', title: 'Attach editor context' });
for (const [v, label] of [['none', 'No context'], ['selection', 'Selection'], ['file', 'Current file']] as const) context.append(el('option', { value: v }, label));
const send = el('button', { id: 'send', type: 'submit', 'aria-label': 'Send' }, 'Send');
const stop = el('button', { id: 'stop', type: 'button', 'aria-label': 'Stop', class: 'secondary' }, 'Stop');
const status = el('div', { id: 'chat-status', 'aria-live': 'polite' });
controls.append(context, status, stop, send);
form.append(prompt, controls);
app.append(header, log, form);

const saved = vscode.getState();
prompt.value = saved?.draft ?? '';
context.value = saved?.context ?? 'none';
const saveDraft = () => vscode.setState({ draft: prompt.value, context: context.value as ChatContextKind });
prompt.addEventListener('input', saveDraft);
context.addEventListener('change', saveDraft);

const activeStreaming = () => chats.find((c) => c.id === activeId)?.streaming ?? false;

function renderTabs(): void {
  tabs.replaceChildren(...chats.map((c) => {
    const b = el('button', {
      class: `chat-tab${c.id === activeId ? ' active' : ''}${c.streaming ? ' streaming' : ''}`,
      role: 'tab', type: 'button', 'data-chat-id': c.id,
      'aria-selected': String(c.id === activeId),
      'aria-label': `Chat: ${c.title}${c.streaming ? ' (answering)' : ''}`,
      title: c.title,
    }, c.title);
    b.addEventListener('click', () => post({ type: 'selectChat', chatId: c.id }));
    b.addEventListener('auxclick', (e) => { if (e.button === 1) post({ type: 'deleteChat', chatId: c.id }); });
    return b;
  }));
}

function messageNode(m: ChatViewMessage, i: number, streaming: boolean): HTMLElement {
  const node = el('div', { class: `message ${m.role}`, 'data-role': m.role, 'data-index': String(i) });
  if (streaming) node.dataset.streaming = 'true';
  const body = el('div', { class: 'body' });
  if (m.role === 'user') body.textContent = m.content;
  else body.innerHTML = renderMarkdown(m.content || (streaming ? '…' : ''));
  node.append(body);
  if (m.contextLabel) node.append(el('div', { class: 'context-label' }, `with ${m.contextLabel}`));
  if (m.error) node.append(el('div', { class: 'error', role: 'alert' }, m.error));
  if (m.stopped) node.append(el('div', { class: 'note' }, 'stopped'));
  if (m.role === 'assistant' && m.content && !streaming) {
    const actions = el('div', { class: 'message-actions' });
    const copy = el('button', { type: 'button', class: 'copy-answer secondary', 'aria-label': 'Copy answer' }, 'Copy');
    copy.addEventListener('click', () => post({ type: 'copy', text: m.content }));
    actions.append(copy);
    node.append(actions);
  }
  return node;
}

function renderMessages(): void {
  const streaming = activeStreaming();
  log.replaceChildren(...messages.map((m, i) => messageNode(m, i, streaming && i === messages.length - 1)));
  if (messages.length === 0) log.append(el('div', { class: 'empty' }, 'Ask a question. Answers stream from the local model; several chats can run at once.'));
  log.scrollTop = log.scrollHeight;
}

function renderControls(): void {
  const busy = activeStreaming();
  send.disabled = busy;
  stop.disabled = !busy;
  status.textContent = busy ? 'answering…' : '';
}

// Re-render the streaming message at most once per frame.
let frame = 0;
function scheduleLast(): void {
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    const i = messages.length - 1;
    const old = log.querySelector(`.message[data-index="${i}"]`);
    if (!old || i < 0) return renderMessages();
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    old.replaceWith(messageNode(messages[i], i, activeStreaming()));
    if (atBottom) log.scrollTop = log.scrollHeight;
  });
}

window.addEventListener('message', (event: MessageEvent<ChatToWebview>) => {
  const m = event.data;
  switch (m.type) {
    case 'state':
      chats = m.chats;
      activeId = m.activeId;
      messages = m.messages;
      renderTabs();
      renderMessages();
      renderControls();
      break;
    case 'delta':
      if (m.chatId === activeId && messages.at(-1)?.role === 'assistant') {
        messages[messages.length - 1] = { ...messages[messages.length - 1], content: messages[messages.length - 1].content + m.text };
        scheduleLast();
      }
      break;
    case 'done':
      // The state message that follows carries the final text.
      break;
    case 'focusInput':
      prompt.focus();
      break;
  }
});

function submit(): void {
  const text = prompt.value.trim();
  if (!text || activeStreaming()) return;
  post({ type: 'send', chatId: activeId, text, context: context.value as ChatContextKind });
  prompt.value = '';
  saveDraft();
}

form.addEventListener('submit', (e) => { e.preventDefault(); submit(); });
prompt.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    submit();
  }
});
stop.addEventListener('click', () => post({ type: 'stop', chatId: activeId }));
newChat.addEventListener('click', () => post({ type: 'newChat' }));
log.addEventListener('click', (e) => {
  const target = e.target as HTMLElement;
  const block = target.closest('.code-block');
  const code = block?.querySelector('code')?.textContent ?? '';
  if (target.classList.contains('code-copy')) post({ type: 'copy', text: code });
  if (target.classList.contains('code-insert')) post({ type: 'insert', text: code });
});

renderControls();
post({ type: 'ready' });
