import assert from 'node:assert/strict';
import { chatRequest } from '../../../src/extension/chat/chat-request';
import { sanitizeSettings } from '../../../src/extension/settings';

const from = (o: Record<string, unknown>) => sanitizeSettings((k) => o[k]);
const messages = [{ role: 'user' as const, content: 'hi' }];

describe('chat panel request', () => {
  it('sends our own server the repetition penalty and prompt truncation', () => {
    assert.deepEqual(chatRequest(from({}), messages), { messages, max_tokens: 512, temperature: 0.7, truncate_prompt: 'left', repetition_penalty: 1.1 });
    assert.equal(chatRequest(from({ 'chat.repetitionPenalty': 1 }), messages).repetition_penalty, undefined, '1 is off: nothing sent');
  });

  it('sends a remote server only OpenAI fields', () => {
    const remote = from({ backend: 'remote', 'remote.url': 'http://host:8000/v1', 'remote.model': 'm' });
    assert.deepEqual(chatRequest(remote, messages), { messages, max_tokens: 512, temperature: 0.7, model: 'm' });
  });
});
