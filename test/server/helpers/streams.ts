// A streamed /v1/completions request read frame by frame, for tests that look at the order in
// which streams start: `onFirst` runs at its first data frame (the first text it generated).
export interface StreamResult {
  status: number;
  /** The generated text, or the error body when the status is not 200. */
  text: string;
  finish: string | null;
  /** completion_tokens of the usage chunk. */
  tokens: number | undefined;
  /** The client closed it (`abort()`). */
  aborted: boolean;
}

export interface OpenStream {
  /** Resolves at the first data frame (or when the stream ends without one). */
  first: Promise<void>;
  done: Promise<StreamResult>;
  /** Closes the connection; the server cancels the request. */
  abort(): void;
}

export function openStream(url: string, body: Record<string, unknown>, headers: Record<string, string>, onFirst: () => void = () => undefined): OpenStream {
  const ctl = new AbortController();
  let started!: () => void;
  const first = new Promise<void>((r) => (started = r));
  const done = (async (): Promise<StreamResult> => {
    const result: StreamResult = { status: 0, text: '', finish: null, tokens: undefined, aborted: false };
    try {
      const res = await fetch(`${url}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
        signal: ctl.signal,
      });
      result.status = res.status;
      if (res.status !== 200) return { ...result, text: await res.text() };
      const decoder = new TextDecoder();
      let buf = '';
      let seen = false;
      for await (const chunk of res.body!) {
        buf += decoder.decode(chunk as Uint8Array, { stream: true });
        for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
          const frame = buf.slice(0, i);
          buf = buf.slice(i + 2);
          // Skip the `: ping` heartbeat and the final [DONE].
          if (!frame.startsWith('data: ') || frame === 'data: [DONE]') continue;
          if (!seen) {
            seen = true;
            onFirst();
            started();
          }
          const chunkJson = JSON.parse(frame.slice(6)) as { choices: { text: string; finish_reason: string | null }[]; usage?: { completion_tokens: number } | null };
          result.text += chunkJson.choices[0]?.text ?? '';
          result.finish = chunkJson.choices[0]?.finish_reason ?? result.finish;
          if (chunkJson.usage) result.tokens = chunkJson.usage.completion_tokens;
        }
      }
      return result;
    } catch (e) {
      if (!ctl.signal.aborted) throw e;
      return { ...result, aborted: true };
    } finally {
      started();
    }
  })();
  return { first, done, abort: () => ctl.abort() };
}
