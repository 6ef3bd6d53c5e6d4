// Activation: one backend (local supervised server or remote), and the features on top of it:
// inline completions, chat view, status bar, benchmark, model picker. Returns an API for tests.
import * as vscode from 'vscode';
import { Backend } from './backend';
import { BenchmarkController } from './benchmark/benchmark-controller';
import { ChatViewProvider, CHAT_VIEW_ID } from './chat/chat-view';
import { CompletionPipeline } from './completion/completion-pipeline';
import { InlineProvider } from './completion/inline-provider';
import { readConfiguration, REMOTE_KEY_SECRET, SECTION } from './config';
import { selectModel } from './models/select-model';
import { backendRequestFields, needsRestart, type Settings } from './settings';
import { StatusBar } from './status/status-bar';

/** What `vscode.extensions.getExtension('mlx-batch.mlx-batch').exports` gives (tests, other extensions). */
export interface MlxBatchApi {
  backend: Backend;
  statusBar: StatusBar;
  completions: { pipeline: CompletionPipeline; provider: InlineProvider };
  chat: ChatViewProvider;
  benchmark: BenchmarkController;
  settings(): Settings;
}

let backend: Backend | undefined;

export function activate(context: vscode.ExtensionContext): MlxBatchApi {
  const output = vscode.window.createOutputChannel('MLX Batch', { log: true });
  let settings = readConfiguration();
  backend = new Backend(context, output, settings);
  const b = backend;
  const getSettings = () => settings;

  const pipeline = new CompletionPipeline({
    client: () => b.client(),
    options: () => ({
      debounceMs: settings.completion.debounceMs,
      maxTokens: settings.completion.maxTokens,
      temperature: settings.completion.temperature,
      ...backendRequestFields(settings, b.listedModel),
    }),
    log: (m) => output.info(m),
  });
  const provider = new InlineProvider(pipeline, getSettings);
  const statusBar = new StatusBar(b, output);
  const chat = new ChatViewProvider(context, b, getSettings);
  const benchmark = new BenchmarkController(context, b, getSettings, output);

  const command = (id: string, fn: (...args: any[]) => unknown) => context.subscriptions.push(vscode.commands.registerCommand(id, fn));
  context.subscriptions.push(
    output, b, statusBar, chat, benchmark,
    vscode.languages.registerInlineCompletionItemProvider({ pattern: '**' }, provider),
    vscode.window.registerWebviewViewProvider(CHAT_VIEW_ID, chat, { webviewOptions: { retainContextWhenHidden: true } }),
  );

  command('mlxBatch.triggerCompletion', () => vscode.commands.executeCommand('editor.action.inlineSuggest.trigger'));
  command('mlxBatch.toggleBatching', () => statusBar.toggleBatching());
  command('mlxBatch.runBenchmark', () => benchmark.run());
  command('mlxBatch.showBenchmarkResults', () => benchmark.show());
  command('mlxBatch.selectModel', () => selectModel(settings.model));
  command('mlxBatch.restartServer', () => b.restart(settings));
  command('mlxBatch.stopServer', () => b.stop());
  command('mlxBatch.showLogs', () => output.show());
  command('mlxBatch.newChat', async () => {
    await vscode.commands.executeCommand(`${CHAT_VIEW_ID}.focus`);
    return chat.newChat();
  });
  command('mlxBatch.focusChat', async () => {
    await vscode.commands.executeCommand(`${CHAT_VIEW_ID}.focus`);
    chat.focusInput();
  });
  command('mlxBatch.setRemoteApiKey', async () => {
    const key = await vscode.window.showInputBox({
      title: 'MLX Batch: API key of the remote server',
      prompt: 'Sent as "Authorization: Bearer <key>". Leave empty to remove the stored key.',
      password: true,
      ignoreFocusOut: true,
    });
    if (key === undefined) return;
    if (key.trim()) await context.secrets.store(REMOTE_KEY_SECRET, key.trim());
    else await context.secrets.delete(REMOTE_KEY_SECRET);
  });

  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration(SECTION)) return;
      const next = readConfiguration();
      const restart = needsRestart(settings, next);
      settings = next;
      b.updateSettings(next);
      if (!restart) return;
      pipeline.cancelAll();
      pipeline.cache.clear();
      pipeline.fim.reset();
      output.info('server settings changed: restarting the backend');
      if (b.status.state !== 'stopped' || next.server.autoStart) void b.restart(next);
    }),
    context.secrets.onDidChange((e) => {
      if (e.key === REMOTE_KEY_SECRET && settings.backend === 'remote') void b.restart(settings);
    }),
  );

  if (settings.server.autoStart || settings.backend === 'remote') void b.start();
  return { backend: b, statusBar, completions: { pipeline, provider }, chat, benchmark, settings: getSettings };
}

export async function deactivate(): Promise<void> {
  await backend?.stop();
  backend = undefined;
}
