// `mlx-batch generate`: stream a completion (or a chat answer) from a model, then print the
// prefill and decode speed.
import { encodeChat } from '../server/tokenizer/chat-template';
import { selectDevice } from '../server/device';
import { openInference, textParams } from '../server/inference';
import { deviceFlag, intFlag, modelFlag, numberFlag, parseFlags, requireFlag, type Command } from './command';

const USAGE = 'mlx-batch generate [--model M] [--device cpu|gpu] --prompt TEXT [--max-tokens N] [--temperature T] [--top-p P] [--top-k K] [--seed S] [--chat] [--keep-quantized]';

export const generateCommand: Command = {
  name: 'generate',
  summary: 'Generate text from a model folder or Hugging Face cache id, with speed figures',
  usage: USAGE,
  async run(argv) {
    const f = parseFlags(argv, {
      model: { type: 'string' },
      device: { type: 'string' },
      prompt: { type: 'string' },
      'max-tokens': { type: 'string' },
      temperature: { type: 'string' },
      'top-p': { type: 'string' },
      'top-k': { type: 'string' },
      seed: { type: 'string' },
      chat: { type: 'boolean' },
      'keep-quantized': { type: 'boolean' },
    }, USAGE);
    const model = modelFlag(f.model);
    const device = deviceFlag(f.device);
    const prompt = requireFlag(f.prompt, 'prompt', USAGE);
    const maxTokens = intFlag(f['max-tokens'], 'max-tokens', 128, 1);
    const sampling = {
      temperature: numberFlag(f.temperature, 'temperature', 0, 0, 10),
      topP: numberFlag(f['top-p'], 'top-p', 1, 0, 1),
      topK: intFlag(f['top-k'], 'top-k', 0, 0),
      seed: f.seed === undefined ? undefined : intFlag(f.seed, 'seed', 0, 0),
    };

    const t0 = performance.now();
    selectDevice(device);
    const inf = await openInference(model, {
      load: { keepQuantized: f['keep-quantized'], log: (line) => process.stderr.write(`[generate] ${line}\n`) },
      engine: { prefixCacheTokens: 0 },
    });
    const { loaded, tokenizer, runner } = inf;
    process.stderr.write(`[generate] ${loaded.id} (${loaded.modelType}, ${(loaded.weightBytes / 2 ** 20).toFixed(0)} MiB) loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);

    const promptTokens = f.chat ? encodeChat(tokenizer, [{ role: 'user', content: prompt }]) : tokenizer.encode(prompt);
    const stream = runner.submit(textParams(tokenizer, { promptTokens, maxTokens, sampling }));
    process.once('SIGINT', () => stream.abort());
    if (!f.chat) process.stdout.write(prompt);
    for await (const ev of stream) {
      if (ev.type === 'delta') process.stdout.write(ev.text);
      else {
        const { usage, timing } = ev;
        const ttft = timing.ttftMs ?? timing.totalMs;
        const decodeMs = timing.totalMs - ttft;
        const prefillTps = usage.promptTokens / (ttft / 1000);
        const decodeTps = usage.completionTokens > 1 ? (usage.completionTokens - 1) / (decodeMs / 1000) : 0;
        process.stdout.write('\n');
        process.stderr.write(
          `[generate] prompt ${usage.promptTokens} tokens, prefill ${prefillTps.toFixed(1)} tok/s; ` +
            `generated ${usage.completionTokens} tokens, decode ${decodeTps.toFixed(1)} tok/s; finish: ${ev.finishReason}\n`,
        );
      }
    }
  },
};
