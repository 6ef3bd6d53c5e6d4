// The server as its own process (src/cli/server/main.ts compiled by tsc, as the extension starts
// it: stdout and stderr piped, glibc's malloc tunables in its environment), and one streaming /v1/completions request read frame by frame with
// the time each frame arrived.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { withMallocTunables } from '../../src/shared/malloc-tunables';
import type { KernelChoices } from '../../src/shared/protocol';

export interface ServerProcess {
  url: string;
  /** The kernels its `ready` event reported. */
  kernels?: KernelChoices;
  stop(): Promise<void>;
}

/**
 * Starts `mlx-batch serve --model MODEL ...extra` and resolves once it is ready. `main`: the
 * server entry of another build (default: this one's).
 */
export async function startServer(model: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}, main = path.resolve(__dirname, '..', '..', 'src', 'cli', 'server', 'main.js')): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--expose-gc', main, '--model', model, ...extra], { stdio: ['ignore', 'pipe', 'pipe'], env: withMallocTunables({ ...process.env, ...env }) });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-4000);
  });
  let url = '';
  let kernels: KernelChoices | undefined;
  await new Promise<void>((resolve, reject) => {
    let rest = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      const lines = (rest + d).split('\n');
      rest = lines.pop() ?? '';
      for (const l of lines) {
        const e = JSON.parse(l) as { event: string; url?: string; message?: string; kernels?: KernelChoices };
        if (e.event === 'listening') url = e.url!;
        if (e.event === 'ready') {
          kernels = e.kernels;
          resolve();
        }
        if (e.event === 'error') reject(new Error(e.message));
      }
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${stderr}`)));
  });
  return { url, kernels, stop: () => new Promise((resolve) => { child.once('exit', () => resolve()); child.kill('SIGTERM'); }) };
}

export interface StreamedCompletion {
  /** Arrival time (performance.now()) of each frame that carried text. */
  textTimes: number[];
  text: string;
  usage?: { prompt_tokens: number; completion_tokens: number };
  /** When the request was sent and when its stream ended. */
  sent: number;
  ended: number;
}

/** A streamed completion chunk as the server sends it. */
export interface CompletionChunk {
  usage?: { prompt_tokens: number; completion_tokens: number };
  choices?: { text?: string }[];
}

/** POSTs a streaming /v1/completions request (`body` gets `stream: true`) and yields its chunks as they arrive. */
export async function* completionChunks(url: string, body: Record<string, unknown>, headers: Record<string, string> = {}, signal?: AbortSignal): AsyncGenerator<CompletionChunk> {
  const res = await fetch(`${url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ ...body, stream: true }),
    signal,
  });
  if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const bytes of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(bytes, { stream: true });
    let end: number;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const frame = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      if (frame.startsWith('data: ') && frame !== 'data: [DONE]') yield JSON.parse(frame.slice(6)) as CompletionChunk;
    }
  }
}

/** One streaming completion with usage, read to its end. */
export async function streamCompletion(url: string, body: Record<string, unknown>, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<StreamedCompletion> {
  const out: StreamedCompletion = { textTimes: [], text: '', sent: performance.now(), ended: 0 };
  for await (const chunk of completionChunks(url, { ...body, stream_options: { include_usage: true } }, headers, signal)) {
    if (chunk.usage) out.usage = chunk.usage;
    const text = chunk.choices?.[0]?.text;
    if (text) {
      out.text += text;
      out.textTimes.push(performance.now());
    }
  }
  out.ended = performance.now();
  return out;
}
