// Qwen3: Llama with an RMSNorm over each head of q and k (before RoPE), explicit head_dim.
import { nn, type MxArray } from '../mlx';
import { readArgs } from './args';
import * as llama from './llama';
import type { ModelArgs, ModelConfig } from './types';

export function qwen3Args(config: ModelConfig): ModelArgs {
  return readArgs(config, {
    tieWordEmbeddings: false,
    maxPositionEmbeddings: 40960,
    rmsNormEps: 1e-6,
    ropeTheta: 1000000,
    qkNorm: true,
  });
}

export class Attention extends llama.Attention {
  qNorm: nn.RMSNorm;
  kNorm: nn.RMSNorm;

  constructor(args: ModelArgs, layer: number) {
    super(args, layer, false);
    this.qNorm = new nn.RMSNorm(args.headDim, args.rmsNormEps);
    this.kNorm = new nn.RMSNorm(args.headDim, args.rmsNormEps);
  }

  protected override prepareQK(q: MxArray, k: MxArray): [MxArray, MxArray] {
    return [this.qNorm.forward(q), this.kNorm.forward(k)];
  }
}

export class Model extends llama.Model {
  constructor(args: ModelArgs) {
    super(args, (a, i) => new Attention(a, i));
  }
}
