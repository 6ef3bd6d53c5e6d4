// Builds the inference service for `serve`: model weights, tokenizer, the batch engine on
// node-mlx and the runner around it, reporting progress as it goes.
import type { Logger } from './http/context';
import type { InferenceService } from './http/service';
import type { PromptTokenizer } from './http/runner-service';
import { RunnerService } from './http/runner-service';
import { openInference } from './inference';
import { backendName, selectDevice, type Device } from './device';
import { encodeChat } from './tokenizer/chat-template';
import { buildFimPrompt, detectFim, encodeExtraContext } from './fim';
import { describeKernels, kernelChoices } from './kernels';
import type { Tokenizer } from './tokenizer/tokenizer';

/** What loading the service needs of the server's options (`mlx-batch serve`'s flags). */
export interface ServiceOptions {
  model: string;
  /** undefined: gpu when Metal is available, else cpu. */
  device?: Device;
  maxBatch: number;
  /** undefined: the loader picks it from the memory left after the weights. */
  kvBudgetTokens: number | undefined;
  maxWaiting: number;
  batching: boolean;
  /** Speculative decoding (prompt-lookup drafts checked in the batch). */
  speculative: boolean;
  /** Shortest prompt run reused from another position of a stored prompt (0: exact prefixes only). */
  cacheReuseTokens: number;
}

/** Loads the model and builds the service; `progress` takes a fraction in [0, 1]. */
export type ServiceLoader = (options: ServiceOptions, progress: (fraction: number, message: string) => void, log: Logger) => Promise<InferenceService>;

/** The model's tokenizer as the HTTP service uses it. */
export function promptTokenizer(tokenizer: Tokenizer): PromptTokenizer {
  const eos = [...tokenizer.endOfGenerationIds];
  const fim = detectFim(tokenizer);
  return {
    encode: (text) => tokenizer.encode(text),
    encodeChat: (messages) => encodeChat(tokenizer, messages.map((m) => ({ role: m.role, content: m.content }))),
    encodeFim: (prefix, suffix, extra) => buildFimPrompt(tokenizer, prefix, suffix, extra).ids,
    encodeExtra: (chunks, currentFile) => encodeExtraContext(tokenizer, chunks, currentFile),
    eosTokenIds: eos,
    fimStopIds: fim ? [...fim.stopIds] : eos,
    decoder: () => tokenizer.createDecoder({ skipSpecialTokens: true }),
    tokenBytes: (id) => tokenizer.tokenBytes(id),
  };
}

export const loadInferenceService: ServiceLoader = async (options, progress, log) => {
  const device = selectDevice(options.device);
  log.info(`device: ${device}`);
  progress(0, `reading ${options.model}`);
  const { loaded, tokenizer, engine, runner } = await openInference(options.model, {
    load: {
      log: (line) => log.info(line),
      onProgress: (p) => progress(0.05 + 0.9 * (p.bytesTotal > 0 ? p.bytesDone / p.bytesTotal : p.filesDone / p.filesTotal),
        `weights ${p.filesDone}/${p.filesTotal} (${Math.round(p.bytesDone / 2 ** 20)} of ${Math.round(p.bytesTotal / 2 ** 20)} MB)`),
    },
    runner: {
      maxBatch: options.maxBatch,
      kvBudgetTokens: options.kvBudgetTokens,
      maxWaiting: options.maxWaiting,
      batching: options.batching,
      speculative: options.speculative,
    },
    engine: { cacheReuseTokens: options.cacheReuseTokens },
  });
  log.info(`loaded ${loaded.id} (${loaded.modelType}, ${Math.round(loaded.weightBytes / 2 ** 20)} MB) from ${loaded.dir} in ${(loaded.loadMs / 1000).toFixed(1)}s`);
  const kernels = kernelChoices();
  log.info(`kernels: ${describeKernels(kernels)}`);
  return new RunnerService(
    { id: loaded.id, contextLength: engine.contextLength, created: Math.floor(Date.now() / 1000) },
    runner,
    promptTokenizer(tokenizer),
    { backend: backendName(device), benchmarkConcurrency: [1, 4, 8], benchmarkMaxTokens: 64, kernels },
  );
};
