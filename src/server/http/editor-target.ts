// The inference service as the editor scenario's target: completions as the completions endpoint
// makes them (FIM prompt fitted by the server, whitespace healing, the model's infill stops, the
// end of the line), chat answers as the chat panel asks them (the model's chat template, its
// repetition penalty), greedy, so every mode generates the same text.
import type { EditorTarget } from '../../batching/benchmark/editor-scenario';
import { DEFAULT_REPETITION_WINDOW } from '../../batching/request-types';
import { dropTypedStart } from '../fim';
import { chatPrompt, completionPrompt } from './prompt';
import type { InferenceService } from './service';
import { DEFAULT_CHAT_REPETITION_PENALTY } from '../../shared/server-defaults';

export function editorTarget(service: InferenceService): EditorTarget {
  let n = 0;
  return {
    async *complete(c, o, signal) {
      const prompt = completionPrompt(service, c.prefix, c.suffix, o.maxTokens, true, o.maxTokens);
      const events = service.generate({
        id: `bench-editor-${++n}`, promptTokens: prompt.tokens, maxTokens: prompt.maxTokens, sampling: { temperature: 0, topP: 1, topK: 0 },
        stop: ['\n'], priority: o.priority, ignoreEos: false, fim: true, speculative: true,
      }, signal);
      for await (const e of prompt.typedBlanks ? dropTypedStart(events, prompt.typedBlanks) : events) if (e.type === 'delta') yield e.text;
    },
    async *chat(question, o, signal) {
      const prompt = chatPrompt(service, [{ role: 'user', content: question }], o.maxTokens, true, o.maxTokens);
      const events = service.generate({
        id: `bench-editor-${++n}`, promptTokens: prompt.tokens, maxTokens: prompt.maxTokens,
        sampling: { temperature: 0, topP: 1, topK: 0, repetitionPenalty: DEFAULT_CHAT_REPETITION_PENALTY, repetitionWindow: DEFAULT_REPETITION_WINDOW },
        stop: [], priority: o.priority, ignoreEos: false, fim: false, speculative: true,
      }, signal);
      for await (const e of events) if (e.type === 'delta') yield e.tokens.length;
    },
    setBatching: (enabled) => service.setBatching(enabled),
    running: () => service.stats().running,
  };
}
