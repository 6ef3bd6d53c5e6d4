// Helpers for tests that run inside a real VS Code extension host (see index.ts). Outside one
// (plain mocha) `vscode` cannot be loaded: the suites then fail, naming the tier that runs them.
import assert from 'node:assert/strict';
import type * as VSCode from 'vscode';
import type { BackendStatus } from '../../../src/extension/backend-status';
import type { MlxBatchApi } from '../../../src/extension/extension';

export const EXTENSION_ID = 'mlx-batch.mlx-batch';

export function hostVscode(): typeof VSCode | undefined {
  try {
    // A static import would fail to load outside the extension host.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('vscode') as typeof VSCode;
  } catch {
    return undefined;
  }
}

export async function activeApi(vscode: typeof VSCode): Promise<MlxBatchApi> {
  const ext = vscode.extensions.getExtension<MlxBatchApi>(EXTENSION_ID);
  if (!ext) throw new Error(`extension ${EXTENSION_ID} is not installed in this host`);
  return ext.activate();
}

/**
 * Polls `probe` until it returns something truthy, failing after `timeoutMs` or as soon as `fail`
 * names a reason the condition can no longer come true.
 */
export async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 180_000, fail?: () => string | false | undefined): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await probe();
    if (v) return v;
    const reason = fail?.();
    if (reason) throw new Error(`while waiting for ${what}: ${reason}`);
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every status the backend reports from now on, in order. */
export function recordStatus(api: MlxBatchApi): { events: BackendStatus[]; dispose(): void } {
  const events: BackendStatus[] = [];
  const sub = api.backend.onDidChange((s) => events.push(s));
  return { events, dispose: () => sub.dispose() };
}

type Ready = Extract<BackendStatus, { state: 'ready' }>;

/**
 * Waits until the backend is ready (a local server other than `notPid`, or the remote one), and
 * fails at once with the backend's message when it reports an error instead.
 */
export async function waitForReady(api: MlxBatchApi, what: string, opts: { notPid?: number; remote?: boolean } = {}): Promise<Ready> {
  const remote = opts.remote ?? false;
  return waitFor(what, () => {
    const s = api.backend.status;
    if (s.state !== 'ready' || s.remote !== remote) return false;
    if (!remote && (api.backend.pid === undefined || api.backend.pid === opts.notPid)) return false;
    return s;
  }, 180_000, () => api.backend.status.state === 'error' && `the backend failed: ${(api.backend.status as { message: string }).message}`);
}

/** Waits until the local server is ready and its status has not changed for `quietMs`. */
export async function waitForQuiet(api: MlxBatchApi, quietMs: number): Promise<void> {
  let last = Date.now();
  const sub = api.backend.onDidChange(() => { last = Date.now(); });
  try {
    await waitFor(`the backend to stay ready for ${quietMs} ms`, () => api.backend.status.state === 'ready' && api.backend.pid !== undefined && Date.now() - last >= quietMs);
  } finally {
    sub.dispose();
  }
}

/** Replaces `obj[name]` until the returned function is called (for the editor's UI prompts). */
export function replace<O extends object, K extends keyof O>(obj: O, name: K, impl: O[K]): () => void {
  const original = obj[name];
  obj[name] = impl;
  return () => { obj[name] = original; };
}

let completions = 0;

/** One inline completion answered by a request to the backend now (a new prompt each time: no cache, no reuse); its text. */
export async function completeNow(vscode: typeof VSCode, api: MlxBatchApi): Promise<string> {
  api.completions.pipeline.cache.clear();
  const provider = api.completions.provider;
  provider.lastAnswer = undefined;
  const doc = await vscode.workspace.openTextDocument({ language: 'typescript', content: `function add${++completions}(a: number, b: number): number {\n  return \n}\n` });
  const items = await provider.provideInlineCompletionItems(doc, new vscode.Position(1, 9),
    { triggerKind: vscode.InlineCompletionTriggerKind.Invoke, selectedCompletionInfo: undefined }, new vscode.CancellationTokenSource().token);
  assert.ok(items && items.length === 1, `one inline completion item (backend: ${JSON.stringify(api.backend.status)})`);
  assert.equal((provider.lastAnswer as { source: string } | undefined)?.source, 'request', 'answered by a request to the backend');
  return String(items[0].insertText);
}
