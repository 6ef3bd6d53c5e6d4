// The sampling fields of a request body as the sampler receives them.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { parseCommon } from '../../../src/server/http/requests';

const req = { headers: {} } as IncomingMessage;
const model = { id: 'm', contextLength: 1024, created: 0 };
const parse = (body: Record<string, unknown>) => parseCommon(body, req, model);

describe('request sampling fields', () => {
  it('passes penalties and min_p to the sampler, in either spelling of the repetition penalty', () => {
    assert.deepEqual(parse({ temperature: 0.5, presence_penalty: 0.5, frequency_penalty: -0.25, min_p: 0.05, repetition_penalty: 1.2, repeat_last_n: -1 }).sampling, {
      temperature: 0.5, topP: 1, topK: 0, presencePenalty: 0.5, frequencyPenalty: -0.25, minP: 0.05, repetitionPenalty: 1.2, repetitionWindow: -1,
    });
    assert.equal(parse({ repeat_penalty: 1.3 }).sampling.repetitionPenalty, 1.3);
    assert.deepEqual(parse({ presence_penalty: 0, frequency_penalty: 0, min_p: 0, repetition_penalty: 1 }).sampling, { temperature: 1, topP: 1, topK: 0 }, 'neutral values add nothing');
  });

  it('passes speculative and the prediction text', () => {
    assert.equal(parse({}).speculative, true);
    assert.equal(parse({ speculative: false }).speculative, false);
    assert.equal(parse({ prediction: { type: 'content', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] } }).prediction, 'ab');
    assert.equal(parse({}).prediction, undefined);
  });
});
