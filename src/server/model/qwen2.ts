// Qwen2 (Qwen2.5, Qwen2.5-Coder): Llama with biases on the q/k/v projections (not o_proj).
import { readArgs } from './args';
import * as llama from './llama';
import type { ModelArgs, ModelConfig } from './types';

export function qwen2Args(config: ModelConfig): ModelArgs {
  return readArgs(config, {
    tieWordEmbeddings: true,
    maxPositionEmbeddings: 32768,
    rmsNormEps: 1e-6,
    ropeTheta: 1000000,
    attentionBias: true,
    qkNorm: false,
  });
}

export class Model extends llama.Model {
  constructor(args: ModelArgs) {
    super(args, (a, i) => new llama.Attention(a, i, false));
  }
}
