// The one conversion of a thrown value to an MlxBatchError.
import assert from 'node:assert/strict';
import { MlxBatchError, toMlxBatchError } from '../../../src/shared/errors';

describe('toMlxBatchError', () => {
  it('keeps an MlxBatchError as it is, type and all', () => {
    const e = new MlxBatchError('overloaded', 'busy', 'x');
    assert.equal(toMlxBatchError(e), e);
    assert.equal(toMlxBatchError(e, 'The engine failed'), e);
  });

  it('wraps an Error as internal, keeping its message, stack and the original as cause', () => {
    const original = new TypeError('boom in the tokenizer');
    const e = toMlxBatchError(original);
    assert.equal(e.type, 'internal');
    assert.equal(e.status, 500);
    assert.equal(e.message, 'boom in the tokenizer');
    assert.equal(e.cause, original);
    assert.equal(e.stack, original.stack);
    assert.equal(e.unexpected, true);
  });

  it('puts a context before the message, and then the message is for the reader', () => {
    const e = toMlxBatchError(new Error('step 2 failed'), 'The engine failed');
    assert.equal(e.message, 'The engine failed: step 2 failed');
    assert.match(e.stack ?? '', /^The engine failed: Error: step 2 failed\n\s+at /);
    assert.equal(e.unexpected, false);
  });

  it('wraps a string or any other value', () => {
    assert.equal(toMlxBatchError('plain string').message, 'plain string');
    assert.equal(toMlxBatchError('plain string').type, 'internal');
    assert.equal(toMlxBatchError(42).message, '42');
    assert.equal(toMlxBatchError(undefined, 'The engine failed').message, 'The engine failed: undefined');
    assert.equal(toMlxBatchError({ code: 1 }).cause instanceof Object, true);
  });
});
