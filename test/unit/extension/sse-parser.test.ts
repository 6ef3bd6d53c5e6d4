import assert from 'node:assert/strict';
import { SseParser, readSse } from '../../../src/extension/client/sse-parser';

function parseInPieces(text: string, cuts: number[]): { event: string; data: string }[] {
  const p = new SseParser();
  const bytes = new TextEncoder().encode(text);
  const out = [];
  let last = 0;
  for (const c of [...cuts, bytes.length]) {
    out.push(...p.push(bytes.slice(last, c)));
    last = c;
  }
  out.push(...p.end());
  return out.map(({ event, data }) => ({ event, data }));
}

describe('extension SSE parser', () => {
  const stream = 'data: {"a":1}\r\n\r\n: ping\n\nevent: progress\ndata: line1\ndata: line2\n\ndata: é€😀\r\rdata: [DONE]\n\n';
  const expected = [
    { event: 'message', data: '{"a":1}' },
    { event: 'progress', data: 'line1\nline2' },
    { event: 'message', data: 'é€😀' },
    { event: 'message', data: '[DONE]' },
  ];

  it('parses CRLF, CR and LF frames, comments, multi-line data and named events', () => {
    assert.deepEqual(parseInPieces(stream, []), expected);
  });

  it('gives the same events wherever the chunks are split, even inside CRLF and UTF-8 sequences', () => {
    const n = new TextEncoder().encode(stream).length;
    for (let a = 1; a < n; a++) {
      assert.deepEqual(parseInPieces(stream, [a]), expected, `split at ${a}`);
      assert.deepEqual(parseInPieces(stream, [a, Math.min(n, a + 3)]), expected, `split at ${a}, ${a + 3}`);
    }
  });

  it('delivers a last frame that has no blank line after it', () => {
    assert.deepEqual(parseInPieces('data: x\n\ndata: tail', []), [{ event: 'message', data: 'x' }, { event: 'message', data: 'tail' }]);
  });

  it('reads an async iterable of byte chunks', async () => {
    async function* body() {
      yield new TextEncoder().encode('data: 1\n');
      yield new TextEncoder().encode('\ndata: 2\n\n');
    }
    const got = [];
    for await (const e of readSse(body())) got.push(e.data);
    assert.deepEqual(got, ['1', '2']);
  });
});
