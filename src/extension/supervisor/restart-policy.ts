// When a server that died may be started again: exponential back-off, at most `maxRestarts`
// times in a row; a run that stayed up for `stableMs` resets the count. Errors that a restart
// would only repeat are shown once instead (decideAfterExit).
import type { ErrorType } from '../../shared/errors';
import type { ExitInfo } from './server-process';

export class RestartPolicy {
  private attempts = 0;

  constructor(
    private readonly maxRestarts: number,
    private readonly baseDelayMs = 500,
    private readonly maxDelayMs = 10_000,
    private readonly stableMs = 60_000,
  ) {}

  /** Called when the process exits unexpectedly after running `uptimeMs`: the delay before the next start, or undefined to give up. */
  next(uptimeMs: number): number | undefined {
    if (uptimeMs >= this.stableMs) this.attempts = 0;
    if (this.attempts >= this.maxRestarts) return undefined;
    const delay = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** this.attempts);
    this.attempts += 1;
    return delay;
  }

  get restarts(): number {
    return this.attempts;
  }

  reset(): void {
    this.attempts = 0;
  }
}

/** The buttons of the supervisor's error notification. */
export type FailAction = 'Select Model' | 'Use Remote Server' | 'Show Logs' | 'Retry';

/** After an unexpected exit: start again after a delay, or show `message` once with `actions`. */
export type ExitDecision =
  | { restart: true; delayMs: number }
  | { restart: false; message: string; actions: FailAction[] };

/** Errors of the model itself: the same model fails the same way on the next start. */
const MODEL_ERRORS: ReadonlySet<ErrorType> = new Set<ErrorType>([
  'model_not_found', 'invalid_config', 'unsupported_model', 'missing_tensors', 'unexpected_tensors',
  'shape_mismatch', 'corrupt_weights', 'tokenizer_missing', 'invalid_tokenizer',
]);
const TOO_BIG: FailAction[] = ['Select Model', 'Use Remote Server', 'Show Logs'];

/**
 * What to do when the server exited on its own. An error the server reported (a model that
 * failed to load, one too big for the machine) is shown, not retried; so is a kill during the
 * load, which is what the kernel's out-of-memory killer does. A crash is retried with back-off.
 */
export function decideAfterExit(info: Pick<ExitInfo, 'reason' | 'reported' | 'errorType' | 'signal' | 'ready'>, policy: RestartPolicy, uptimeMs: number): ExitDecision {
  if (info.errorType === 'insufficient_memory') return { restart: false, message: info.reason, actions: TOO_BIG };
  // node-mlx's native module does not load on this machine: every start fails the same way.
  if (info.errorType === 'mlx_unavailable') return { restart: false, message: info.reason, actions: ['Use Remote Server', 'Show Logs'] };
  if (info.reported) {
    const model = info.errorType !== undefined && MODEL_ERRORS.has(info.errorType);
    return { restart: false, message: info.reason, actions: model ? ['Select Model', 'Show Logs', 'Retry'] : ['Show Logs', 'Retry'] };
  }
  if (info.signal === 'SIGKILL' && !info.ready) {
    return {
      restart: false,
      message: `the server was killed (SIGKILL) while loading the model, most likely because the machine ran out of memory: use a smaller model or a remote server (${info.reason})`,
      actions: TOO_BIG,
    };
  }
  const delayMs = policy.next(uptimeMs);
  if (delayMs === undefined) return { restart: false, message: `the server keeps stopping (${policy.restarts} restarts): ${info.reason}`, actions: ['Show Logs', 'Retry'] };
  return { restart: true, delayMs };
}
