// The backend the features talk to: the supervised local server (spawned with a fresh token,
// restarted with back-off, one error with its actions when it keeps failing or cannot load) or a
// remote OpenAI-compatible server. Everything else asks `client()` and listens to `onDidChange`.
import * as vscode from 'vscode';
import type { BackendStatus } from './backend-status';
import { ApiClient } from './client/api-client';
import { describeError } from './client/api-error';
import { REMOTE_KEY_SECRET } from './config';
import { decideAfterExit, RestartPolicy, type FailAction } from './supervisor/restart-policy';
import { launchSpec, modelArgument } from './supervisor/server-args';
import { ServerProcess, type ExitInfo } from './supervisor/server-process';
import { writeTokenFile } from './supervisor/token-file';
import type { Settings } from './settings';

export type { BackendStatus };

export class Backend implements vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<BackendStatus>();
  readonly onDidChange = this.emitter.event;
  private current: BackendStatus = { state: 'stopped' };
  private api: ApiClient | undefined;
  private proc: ServerProcess | undefined;
  private starting: Promise<ApiClient | undefined> | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private policy: RestartPolicy;
  /** Bumped by every start/stop so late events of an older run are ignored. */
  private generation = 0;
  private disposed = false;
  /** The first model the remote server listed (requests name it when `remote.model` is empty). */
  private listed: string | undefined;
  /** Restarts run one after another, so the last settings given are the ones that stay. */
  private restarting: Promise<void> = Promise.resolve();

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly output: vscode.LogOutputChannel,
    private settings: Settings,
  ) {
    this.policy = new RestartPolicy(settings.server.maxRestarts);
  }

  get status(): BackendStatus {
    return this.current;
  }

  /** The process id of the local server (tests kill it to check restarts). */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** A client for a ready backend, starting it first if needed; undefined if it cannot start. */
  async client(): Promise<ApiClient | undefined> {
    if (this.current.state === 'ready' && this.api) return this.api;
    if (this.current.state === 'error' || this.disposed) return undefined;
    return this.start();
  }

  /** Starts (or joins a start in progress). */
  start(): Promise<ApiClient | undefined> {
    if (this.current.state === 'ready' && this.api) return Promise.resolve(this.api);
    this.starting ??= (this.settings.backend === 'remote' ? this.startRemote() : this.startLocal()).finally(() => { this.starting = undefined; });
    return this.starting;
  }

  /** The model a remote server listed first, for requests when `remote.model` is empty. */
  get listedModel(): string | undefined {
    return this.listed;
  }

  /**
   * Stops and starts again with (possibly new) settings; resets the restart budget. Calls made
   * while one is under way run after it, in order. The settings are taken at once and each run
   * starts with the newest, so two quick setting changes end on the later one, also for a restart
   * after a crash that comes while a run is still under way (a run never puts back older ones).
   */
  restart(settings?: Settings): Promise<void> {
    if (settings) this.settings = settings;
    const run = this.restarting.then(async () => {
      await this.stop();
      this.policy = new RestartPolicy(this.settings.server.maxRestarts);
      await this.start();
    });
    this.restarting = run.catch(() => undefined);
    return run;
  }

  async stop(): Promise<void> {
    this.generation += 1;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const proc = this.proc;
    this.proc = undefined;
    this.api = undefined;
    this.listed = undefined;
    this.starting = undefined;
    if (proc) {
      this.output.info(`stopping the server (pid ${proc.pid})`);
      await proc.stop();
    }
    this.set({ state: 'stopped' });
  }

  updateSettings(settings: Settings): void {
    this.settings = settings;
  }

  dispose(): void {
    this.disposed = true;
    void this.stop();
    this.emitter.dispose();
  }

  private set(s: BackendStatus): void {
    this.current = s;
    if (!this.disposed) this.emitter.fire(s);
  }

  private async startRemote(): Promise<ApiClient | undefined> {
    const gen = ++this.generation;
    const url = this.settings.remote.url;
    if (!url) {
      this.fail('"mlxBatch.remote.url" is empty or not an http(s) URL. Set it to the server\'s address, e.g. http://gpu-box:8000.');
      return undefined;
    }
    this.set({ state: 'starting', progress: 0, message: `connecting to ${url}` });
    const apiKey = await this.context.secrets.get(REMOTE_KEY_SECRET);
    const client = new ApiClient({ baseUrl: url, apiKey });
    try {
      const models = await client.models(AbortSignal.timeout(15_000));
      if (gen !== this.generation) return undefined;
      this.listed = models.data[0]?.id;
      const model = this.settings.remote.model || this.listed || 'remote';
      this.api = client;
      this.output.info(`connected to ${url} (models: ${models.data.map((m) => m.id).join(', ') || 'none listed'})`);
      this.set({ state: 'ready', url, model, remote: true });
      return client;
    } catch (e) {
      if (gen === this.generation) this.fail(`cannot use the remote server: ${describeError(e)}`);
      return undefined;
    }
  }

  private async startLocal(): Promise<ApiClient | undefined> {
    const gen = ++this.generation;
    const storage = this.context.globalStorageUri.fsPath;
    let token: string;
    let tokenFile: string;
    try {
      ({ token, file: tokenFile } = writeTokenFile(storage));
    } catch (e) {
      this.fail(`cannot write the server token file in ${storage}: ${describeError(e)}`);
      return undefined;
    }
    const spec = launchSpec({
      settings: this.settings,
      extensionPath: this.context.extensionPath,
      tokenFile,
      execPath: process.execPath,
      isElectron: Boolean(process.versions.electron),
      env: process.env,
      parentPid: process.pid,
    });
    const model = modelArgument(this.settings, this.context.extensionPath);
    this.output.info(`starting the server: ${spec.command} ${spec.args.join(' ')}`);
    this.set({ state: 'starting', progress: 0, message: `starting ${model}` });

    let markReady!: () => void;
    const readyEvent = new Promise<void>((r) => (markReady = r));
    const proc = new ServerProcess(spec, {
      log: (line) => this.output.appendLine(line),
      loading: (progress, message) => {
        if (gen === this.generation) this.set({ state: 'starting', progress, message });
      },
      ready: () => markReady(),
    });
    this.proc = proc;
    void proc.exited.then((info) => this.onExit(proc, gen, info));

    return vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `MLX Batch: loading ${shortName(model)}` },
      async (progress) => {
        let reported = 0;
        const sub = this.onDidChange((s) => {
          if (s.state !== 'starting') return;
          const pct = Math.round(s.progress * 100);
          progress.report({ message: s.message, increment: Math.max(0, pct - reported) });
          reported = Math.max(reported, pct);
        });
        try {
          const { url } = await proc.started;
          const client = new ApiClient({ baseUrl: url, apiKey: token, authHint: 'The local server\'s token no longer matches: run "MLX Batch: Restart Server".' });
          let over = false;
          const exited = proc.exited.then(() => { over = true; throw new Error('exited'); });
          await Promise.race([readyEvent, this.pollHealth(client, () => over || gen !== this.generation), exited]);
          over = true;
          if (gen !== this.generation) return undefined;
          this.api = client;
          const health = await client.health().catch(() => undefined);
          this.output.info(`server ready at ${url} (pid ${proc.pid})`);
          this.set({ state: 'ready', url, model: health?.model ?? shortName(model), remote: false });
          return client;
        } catch {
          // The exit handler reports the failure (and restarts when that can help).
          return undefined;
        } finally {
          sub.dispose();
        }
      },
    );
  }

  /** Resolves when /health says ready (for servers that do not print the `ready` line). */
  private async pollHealth(client: ApiClient, over: () => boolean): Promise<void> {
    for (;;) {
      await new Promise((r) => setTimeout(r, 500));
      if (over()) return;
      const h = await client.health(AbortSignal.timeout(2000)).catch(() => undefined);
      if (h?.status === 'ready') return;
    }
  }

  private onExit(proc: ServerProcess, gen: number, info: ExitInfo): void {
    if (proc.stopRequested || gen !== this.generation || this.disposed) return;
    this.api = undefined;
    this.proc = undefined;
    const uptime = Date.now() - proc.startedAt;
    this.output.warn(`the server exited (${info.signal ? `signal ${info.signal}` : `code ${info.code}`}): ${info.reason}`);
    const decision = decideAfterExit(info, this.policy, uptime);
    if (!decision.restart) {
      this.fail(decision.message, decision.actions);
      return;
    }
    const delay = decision.delayMs;
    this.output.info(`restarting in ${delay} ms (restart ${this.policy.restarts} of ${this.settings.server.maxRestarts})`);
    this.set({ state: 'starting', progress: 0, message: `restarting after a crash (${this.policy.restarts}/${this.settings.server.maxRestarts})` });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      void this.start();
    }, delay);
  }

  /** Error state plus one notification with its actions. */
  private fail(message: string, actions: FailAction[] = ['Show Logs', 'Retry']): void {
    this.output.error(message);
    this.set({ state: 'error', message });
    void vscode.window.showErrorMessage(`MLX Batch: ${message}`, ...actions).then((choice) => {
      if (choice === 'Show Logs') this.output.show();
      if (choice === 'Retry') void this.restart();
      if (choice === 'Select Model') void vscode.commands.executeCommand('mlxBatch.selectModel');
      if (choice === 'Use Remote Server') void vscode.commands.executeCommand('workbench.action.openSettings', 'mlxBatch.backend');
    });
  }
}

function shortName(model: string): string {
  const parts = model.split(/[\\/]/).filter(Boolean);
  return parts.slice(-2).join('/') || model;
}
