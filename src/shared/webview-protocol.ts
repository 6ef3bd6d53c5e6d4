// Messages between the extension and its webviews (chat view, benchmark results), declared
// once; both sides switch on `type`. Pure types: imported by src/extension and the webview bundles.

import type { BenchmarkReport, BenchmarkScenario, EditorBenchmarkReport } from './protocol';

/** What the user asked to attach to a chat message. */
export type ChatContextKind = 'none' | 'selection' | 'file';

/** One message as the chat view shows it. */
export interface ChatViewMessage {
  role: 'user' | 'assistant';
  content: string;
  /** Label of the attached context (e.g. "src/a.ts:10-20"), shown under a user message. */
  contextLabel?: string;
  /** Set on an assistant message that ended with an error or was stopped. */
  error?: string;
  stopped?: boolean;
}

export interface ChatSummary {
  id: string;
  title: string;
  streaming: boolean;
}

/** Webview -> extension (chat view). */
export type ChatToExtension =
  /** The webview has loaded its script and wants the state. */
  | { type: 'ready' }
  /** Send a user message in a chat, with optional editor context. */
  | { type: 'send'; chatId: string; text: string; context: ChatContextKind }
  /** Abort the streaming answer of a chat. */
  | { type: 'stop'; chatId: string }
  /** Start an empty chat and make it active. */
  | { type: 'newChat' }
  /** Make another chat active. */
  | { type: 'selectChat'; chatId: string }
  /** Delete a chat (stopping it first). */
  | { type: 'deleteChat'; chatId: string }
  /** Copy text (a code block or a whole answer) to the clipboard. */
  | { type: 'copy'; text: string }
  /** Insert text at the cursor of the active editor. */
  | { type: 'insert'; text: string };

/** Extension -> webview (chat view). */
export type ChatToWebview =
  /** Full state: chat list, the active chat and its messages. */
  | { type: 'state'; chats: ChatSummary[]; activeId: string; messages: ChatViewMessage[]; backend: string }
  /** More text of the last (assistant) message of a chat. */
  | { type: 'delta'; chatId: string; text: string }
  /** A chat's answer ended (normally, stopped or with an error). */
  | { type: 'done'; chatId: string; stopped: boolean; error?: string }
  /** Puts focus in the input box (command "Focus Chat"). */
  | { type: 'focusInput' };

/** A stored benchmark run as the results view lists it: either scenario's report (`isEditorReport` tells them apart). */
export interface BenchmarkRun {
  id: string;
  report: BenchmarkReport | EditorBenchmarkReport;
}

/** Webview -> extension (benchmark results). */
export type BenchmarkToExtension =
  | { type: 'ready' }
  /** Export a run as a file. */
  | { type: 'export'; runId: string; format: 'json' | 'markdown' }
  /** Start a new benchmark run of a scenario (the command asks which). */
  | { type: 'rerun'; scenario: BenchmarkScenario }
  /** Forget all stored runs but the shown one. */
  | { type: 'clearHistory' }
  /** The view now shows this run, or failed to draw it (`error`, logged by the extension). */
  | { type: 'shown'; runId: string; scenario: BenchmarkScenario; error?: string };

/** Extension -> webview (benchmark results): the runs, newest first, and which one to show. */
export type BenchmarkToWebview = { type: 'runs'; runs: BenchmarkRun[]; selectedId: string };
