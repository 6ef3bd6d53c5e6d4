// Activation: one backend (local supervised server or remote), and the features on top of it:
// inline completions, chat view, status bar, benchmark, model picker. Returns an API for tests.
import * as vscode from 'vscode';
import { Backend } from './backend';
import { BenchmarkController } from './benchmark/benchmark-controller';
import { ChatViewProvider, CHAT_VIEW_ID } from './chat/chat-view';
import { CompletionPipeline } from './completion/completion-pipeline';
import { ContextGatherer } from './completion/context-gatherer';
import { ContextRing } from './completion/context-ring';
import { ContextWarmup } from './completion/context-warmup';
import { InlineProvider } from './completion/inline-provider';
import { readConfiguration, REMOTE_KEY_SECRET, SECTION } from './config';
import { selectModel } from './models/select-model';
import { backendRequestFields, fimRoute, needsRestart, type Settings } from './settings';
import { StatusBar } from './status/status-bar';

/** What `vscode.extensions.getExtension('mlx-batch.mlx-batch').exports` gives (tests, other extensions). */
export interface MlxBatchApi {
  backend: Backend;
  statusBar: StatusBar;
  completions: { pipeline: CompletionPipeline; provider: InlineProvider; ring: ContextRing; warmup: ContextWarmup };
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
      ...fimRoute(settings),
      maxExtraChars: settings.completion.context.maxChars,
    }),
    log: (m) => output.info(m),
  });
  const ring = new ContextRing(settings.completion.context.maxChunks);
  const warmup = new ContextWarmup({
    ring,
    client: async () => (b.status.state === 'ready' ? b.client() : undefined),
    options: () => ({ enabled: fimRoute(settings).extraContext, refreshMs: settings.completion.context.refreshMs, maxChars: settings.completion.context.maxChars }),
    lastQueryAt: () => pipeline.lastQueryAt,
    log: (m) => output.info(m),
  });
  const gatherer = new ContextGatherer(ring, getSettings, () => void warmup.tick(), (m) => output.info(m));
  const provider = new InlineProvider(pipeline, getSettings, ring);
  const statusBar = new StatusBar(b, output);
  const chat = new ChatViewProvider(context, b, getSettings);
  const benchmark = new BenchmarkController(context, b, getSettings, output);

  const command = (id: string, fn: (...args: any[]) => unknown) => context.subscriptions.push(vscode.commands.registerCommand(id, fn));
  context.subscriptions.push(
    output, b, statusBar, chat, benchmark, gatherer, warmup,
    b.onDidChange((status) => { if (status.state === 'ready') warmup.reset(); }),
    vscode.languages.registerInlineCompletionItemProvider({ pattern: '**' }, provider),
    vscode.window.registerWebviewViewProvider(CHAT_VIEW_ID, chat, { webviewOptions: { retainContextWhenHidden: true } }),
  );

  command('mlxBatch.triggerCompletion', () => vscode.commands.executeCommand('editor.action.inlineSuggest.trigger'));
  command('mlxBatch.toggleBatching', () => statusBar.toggleBatching());
  command('mlxBatch.runBenchmark', (scenario?: unknown) => benchmark.run(scenario));
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
  return { backend: b, statusBar, completions: { pipeline, provider, ring, warmup }, chat, benchmark, settings: getSettings };
}

export async function deactivate(): Promise<void> {
  await backend?.stop();
  backend = undefined;
}
