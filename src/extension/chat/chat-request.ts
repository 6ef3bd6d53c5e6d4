// The body the chat panel sends: the conversation and the chat settings, and what only our own
// server takes (prompt truncation, the repetition penalty) when the backend is ours.
import type { ChatCompletionRequest, ChatMessage } from '../../shared/protocol';
import { backendRequestFields, type Settings } from '../settings';

export function chatRequest(settings: Settings, messages: ChatMessage[], listedModel?: string): ChatCompletionRequest {
  const fields = backendRequestFields(settings, listedModel);
  return {
    messages,
    max_tokens: settings.chat.maxTokens,
    temperature: settings.chat.temperature,
    ...(fields.model ? { model: fields.model } : {}),
    // Our own server drops the oldest turns of a chat longer than the model's context, and takes
    // a repetition penalty (remote servers spell it differently, or not at all).
    ...(fields.truncatePrompt ? { truncate_prompt: 'left' as const } : {}),
    ...(fields.truncatePrompt && settings.chat.repetitionPenalty !== 1 ? { repetition_penalty: settings.chat.repetitionPenalty } : {}),
  };
}
