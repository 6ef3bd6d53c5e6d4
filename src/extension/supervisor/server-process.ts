// One run of the local server process: spawn, read the `listening` line, collect log lines,
// stop with SIGTERM then SIGKILL. vscode-free; the supervisor (backend.ts) decides restarts.
import { spawn, type ChildProcess } from 'node:child_process';
import type { ErrorType } from '../../shared/errors';
import type { LaunchSpec } from './server-args';
import { LineSplitter, parseServerEvent } from './server-events';

export interface ServerProcessHandlers {
  log(line: string): void;
  loading?(progress: number, message: string): void;
  /** The model is loaded and the server answers generation requests. */
  ready?(model: string): void;
}

export interface Listening {
  url: string;
  model: string;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last error the server reported (an `error` event or the last stderr lines). */
  reason: string;
  /** True when the server itself reported the error (e.g. the model failed to load): restarting will not help. */
  reported: boolean;
  /** The type of the error the server reported. */
  errorType?: ErrorType;
  /** True when the server had said the model was loaded (its `ready` event). */
  ready: boolean;
}

export class ServerProcess {
  readonly started: Promise<Listening>;
  readonly exited: Promise<ExitInfo>;
  readonly startedAt = Date.now();
  private readonly child: ChildProcess;
  private lastError = '';
  private lastErrorType: ErrorType | undefined;
  private wasReady = false;
  private readonly tail: string[] = [];
  private stopping = false;

  constructor(spec: LaunchSpec, handlers: ServerProcessHandlers, startTimeoutMs = 300_000) {
    // stdin stays open and unwritten for the server's life: its end tells the server (run with
    // --watch-stdin) that we are gone, even when we are killed before we can stop it.
    this.child = spawn(spec.command, spec.args, { env: spec.env, stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
    let resolveStart!: (l: Listening) => void;
    let rejectStart!: (e: Error) => void;
    this.started = new Promise((res, rej) => { resolveStart = res; rejectStart = rej; });
    // A start failure is reported through `exited` too; nobody may be awaiting `started`.
    this.started.catch(() => undefined);
    const timer = setTimeout(() => {
      rejectStart(new Error(`the server did not report its address within ${Math.round(startTimeoutMs / 1000)} s`));
      void this.stop();
    }, startTimeoutMs);

    const out = new LineSplitter((line) => {
      const ev = parseServerEvent(line);
      if (ev?.event === 'listening') {
        clearTimeout(timer);
        resolveStart({ url: ev.url.replace(/\/+$/, ''), model: ev.model });
      } else if (ev?.event === 'ready') {
        this.wasReady = true;
        handlers.ready?.(ev.model);
      } else if (ev?.event === 'loading') {
        handlers.loading?.(ev.progress, ev.message);
      } else if (ev?.event === 'error') {
        this.lastError = ev.message;
        this.lastErrorType = ev.type;
      }
      handlers.log(line);
    });
    const err = new LineSplitter((line) => {
      this.tail.push(line);
      if (this.tail.length > 5) this.tail.shift();
      handlers.log(line);
    });
    this.child.stdout?.setEncoding('utf8').on('data', (c: string) => out.push(c));
    this.child.stderr?.setEncoding('utf8').on('data', (c: string) => err.push(c));
    this.child.stdin?.on('error', () => undefined);

    this.exited = new Promise((resolve) => {
      const done = (code: number | null, signal: NodeJS.Signals | null, spawnError?: Error) => {
        clearTimeout(timer);
        out.flush();
        err.flush();
        const reason = spawnError?.message || this.lastError || this.tail.filter((l) => l.trim()).slice(-3).join('\n') ||
          `exit code ${code ?? 'none'}${signal ? `, signal ${signal}` : ''}`;
        rejectStart(new Error(`the server stopped before it was ready: ${reason}`));
        resolve({ code, signal, reason, reported: this.lastError !== '', errorType: this.lastErrorType, ready: this.wasReady });
      };
      this.child.once('error', (e) => done(null, null, new Error(`cannot start ${spec.command}: ${e.message}`)));
      this.child.once('exit', (code, signal) => done(code, signal));
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** True once stop() was called: the exit is expected, not a crash. */
  get stopRequested(): boolean {
    return this.stopping;
  }

  /** SIGTERM (the server drains), then SIGKILL after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    this.stopping = true;
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const killer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(killer);
  }
}
