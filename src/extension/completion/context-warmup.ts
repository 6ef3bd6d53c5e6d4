// The refresh tick of the context ring, vscode-free: queued chunks enter the ring only when no
// completion was asked for within the last interval (so the prompt's start does not change under
// the user's typing), and a ring that changed is sent at once as a `/infill` that only computes the
// prompt (`n_predict: 0`, background priority), so the next completion finds it in the server's
// cache (llama.vscode's ring update).
import type { ApiClient } from '../client/api-client';
import { describeError, isAbort } from '../client/api-error';
import { fitRecent, type ContextRing } from './context-ring';
import { warmupRequest } from './fim-request';

export interface WarmupOptions {
  /** The backend takes context chunks (our server, or a remote llama-server). */
  enabled: boolean;
  refreshMs: number;
  /** The completions' budget: the warm-up computes the chunks they will start with. */
  maxChars: number;
}

export interface WarmupDeps {
  ring: ContextRing;
  /** A ready backend's client, or undefined (a warm-up never starts a server). */
  client(): Promise<ApiClient | undefined>;
  options(): WarmupOptions;
  /** When the editor last asked for a completion (ms, same clock as `now`). */
  lastQueryAt(): number;
  now?(): number;
  log(message: string): void;
}

export class ContextWarmup {
  /** The ring version the server last computed; -1: none. */
  private warmed = -1;
  private running: AbortController | undefined;
  /** Warm-ups sent, for tests. */
  sent = 0;

  constructor(private readonly deps: WarmupDeps) {}

  /** One refresh tick. Resolves when its warm-up (if any) has answered or failed. */
  async tick(): Promise<void> {
    const opts = this.deps.options();
    const now = this.deps.now?.() ?? Date.now();
    if (now - this.deps.lastQueryAt() < opts.refreshMs) return;
    const ring = this.deps.ring;
    ring.refresh();
    if (!opts.enabled || ring.version === this.warmed) return;
    const chunks = fitRecent(ring.chunks(), opts.maxChars);
    const client = await this.deps.client();
    if (!client) return;
    this.warmed = ring.version;
    if (!chunks.length) return;
    this.running?.abort();
    const controller = new AbortController();
    this.running = controller;
    this.sent += 1;
    try {
      await client.infill(warmupRequest(chunks), { signal: controller.signal, priority: 'background' });
    } catch (e) {
      if (!isAbort(e) && !controller.signal.aborted) this.deps.log(`context warm-up failed: ${describeError(e)}`);
    } finally {
      if (this.running === controller) this.running = undefined;
    }
  }

  /** A new server has nothing cached: the next tick warms it. */
  reset(): void {
    this.warmed = -1;
  }

  dispose(): void {
    this.running?.abort();
    this.running = undefined;
  }
}
