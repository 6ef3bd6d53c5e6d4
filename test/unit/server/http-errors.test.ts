// The HTTP layer's error path: an unexpected error is answered generically, but the log line
// carries its original message and stack.
import assert from 'node:assert/strict';
import type { Logger } from '../../../src/server/http/context';
import { errorBody, reportError } from '../../../src/server/http/errors';
import { MlxBatchError, type ErrorType } from '../../../src/shared/errors';

function sink(): { log: Logger; lines: string[]; counted: ErrorType[]; metrics: { error(t: ErrorType): void } } {
  const lines: string[] = [];
  const counted: ErrorType[] = [];
  const put = (level: string) => (msg: string) => void lines.push(`${level} ${msg}`);
  return { log: { info: put('info'), warn: put('warn'), error: put('error') }, lines, counted, metrics: { error: (t) => void counted.push(t) } };
}

describe('HTTP error path', () => {
  it('logs an unexpected error with its original message and stack, and answers generically', () => {
    const s = sink();
    const thrown = new TypeError('boom in a handler');
    const err = reportError(thrown, 'req-7', s.log, s.metrics, 'POST /v1/completions');
    assert.deepEqual(s.counted, ['internal']);
    assert.equal(s.lines.length, 1);
    assert.ok(s.lines[0].startsWith('error [req-7] POST /v1/completions: TypeError: boom in a handler'), s.lines[0]);
    assert.match(s.lines[0], /\n\s+at /, 'the stack of where it was thrown');
    const body = errorBody(err, 'req-7').error;
    assert.equal(body.type, 'internal');
    assert.equal(body.message, 'internal server error (request req-7)');
  });

  it('answers a typed error with its own message, and logs nothing for a client error', () => {
    const s = sink();
    const err = reportError(new MlxBatchError('validation', '"prompt" must be a string', 'prompt'), 'req-8', s.log, s.metrics);
    assert.deepEqual(s.counted, ['validation']);
    assert.deepEqual(s.lines, []);
    assert.deepEqual(errorBody(err, 'req-8').error, { message: '"prompt" must be a string', type: 'validation', param: 'prompt', code: 'validation' });
  });

  it('answers an internal error that says what failed with that message and the request id', () => {
    const s = sink();
    const err = reportError(new MlxBatchError('internal', 'The engine failed: step 2 failed'), 'req-9', s.log, s.metrics);
    assert.equal(errorBody(err, 'req-9').error.message, 'The engine failed: step 2 failed (request req-9)');
    assert.match(s.lines[0], /^error \[req-9\] MlxBatchError: The engine failed: step 2 failed/);
  });
});
