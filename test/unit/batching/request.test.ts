import assert from 'node:assert/strict';
import { Request, validateParams } from '../../../src/batching/request';
import { RequestStatus } from '../../../src/batching/request-types';
import { MlxBatchError } from '../../../src/shared/errors';
import { FakeDecoder, prompt } from './helpers/scheduling';

const CTX = 100;

describe('Request', () => {
  it('finishes on EOS with reason stop and no EOS text', () => {
    const r = new Request('a', { promptTokens: prompt(3), maxTokens: 10, eosTokenIds: [2], decoder: new FakeDecoder({ 1: 'x', 2: '<eos>' }) }, 0);
    assert.deepEqual(r.appendToken(1, 1, CTX), { text: 'x', finished: false });
    assert.deepEqual(r.appendToken(2, 2, CTX), { text: '', finished: true, endOfSequence: true });
    assert.equal(r.finishReason, 'stop');
    assert.deepEqual(r.usage, { promptTokens: 3, completionTokens: 2, cachedTokens: 0, acceptedDraftTokens: 0, rejectedDraftTokens: 0 });
  });

  it('ignoreEos treats EOS as an ordinary token', () => {
    const r = new Request('a', { promptTokens: prompt(3), maxTokens: 2, eosTokenIds: [2], ignoreEos: true }, 0);
    assert.equal(r.appendToken(2, 1, CTX).finished, false);
    assert.equal(r.appendToken(2, 2, CTX).finished, true);
    assert.equal(r.finishReason, 'length');
  });

  it('finishes with length at max_tokens and flushes held text', () => {
    const r = new Request('a', { promptTokens: prompt(3), maxTokens: 2, stop: ['ZZ'], decoder: new FakeDecoder({ 5: 'a', 6: 'Z' }) }, 0);
    assert.deepEqual(r.appendToken(5, 1, CTX), { text: 'a', finished: false });
    assert.deepEqual(r.appendToken(6, 2, CTX), { text: 'Z', finished: true });
    assert.equal(r.finishReason, 'length');
  });

  it('finishes with length when prompt + output reach the context length', () => {
    const r = new Request('a', { promptTokens: prompt(8), maxTokens: 50 }, 0);
    assert.equal(r.appendToken(1, 1, 10).finished, false);
    assert.equal(r.appendToken(1, 2, 10).finished, true);
    assert.equal(r.finishReason, 'length');
    assert.equal(r.numTokens, 10);
  });

  it('a stop string completed by the decoder flush at max_tokens still finishes as stop', () => {
    // token 7's text is held by the decoder (a split character) until flush.
    const r = new Request('a', { promptTokens: prompt(3), maxTokens: 2, stop: ['ab'], decoder: new FakeDecoder({ 5: 'xa', 7: 'b\u0000' }) }, 0);
    assert.deepEqual(r.appendToken(5, 1, CTX), { text: 'x', finished: false });
    assert.deepEqual(r.appendToken(7, 2, CTX), { text: '', finished: true });
    assert.equal(r.finishReason, 'stop');
  });

  it('records time to first token and inter-token latency', () => {
    const r = new Request('a', { promptTokens: prompt(3), maxTokens: 3 }, 100);
    r.appendToken(1, 150, CTX);
    r.appendToken(1, 160, CTX);
    r.appendToken(1, 180, CTX);
    assert.equal(r.ttftMs, 50);
    assert.equal(r.meanInterTokenMs, 15);
    assert.equal(r.finishedMs, 180);
    assert.equal(r.status, RequestStatus.FinishedLength);
  });

  it('validates prompts, max_tokens and stop strings', () => {
    const bad = (p: Parameters<typeof validateParams>[0], type: string): void =>
      assert.throws(() => validateParams(p, 10), (e: unknown) => e instanceof MlxBatchError && e.type === type);
    bad({ promptTokens: [], maxTokens: 1 }, 'validation');
    bad({ promptTokens: prompt(10), maxTokens: 1 }, 'context_length_exceeded');
    bad({ promptTokens: prompt(2), maxTokens: -1 }, 'validation');
    validateParams({ promptTokens: prompt(2), maxTokens: 0 }, 10);
    bad({ promptTokens: prompt(2), maxTokens: 1.5 }, 'validation');
    bad({ promptTokens: prompt(2), maxTokens: 1, stop: ['x'] }, 'validation');
    validateParams({ promptTokens: prompt(9), maxTokens: 100 }, 10);
  });
});
