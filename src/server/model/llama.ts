// Llama (Llama 2/3.x, CodeLlama, SmolLM, TinyLlama), after mlx-lm's models/llama.py:
// args -> attention -> MLP -> block -> model, plus sanitize. qwen2 and qwen3 subclass it.
import { mx, nn, type MxArray } from '../mlx';
import type { KVCache } from '../cache/types';
import { readArgs } from './args';
import { RotaryEmbedding, type RopeTables } from './rope';
import { swiglu } from './swiglu';
import type { ForwardOptions, LanguageModel, ModelArgs, ModelConfig } from './types';

export function llamaArgs(config: ModelConfig): ModelArgs {
  return readArgs(config, {
    tieWordEmbeddings: true,
    maxPositionEmbeddings: 2048,
    rmsNormEps: 1e-6,
    ropeTheta: 10000,
    qkNorm: false,
  });
}

/** What every layer of one forward pass shares: rotary tables, mask, cache. */
export interface LayerContext {
  rope: RotaryEmbedding;
  tables: RopeTables;
  /** Additive mask, already shaped for grouped-query attention. */
  mask: MxArray | undefined;
  cache: KVCache;
}

export class Attention extends nn.Module {
  qProj: nn.Linear;
  kProj: nn.Linear;
  vProj: nn.Linear;
  oProj: nn.Linear;
  readonly #heads: number;
  readonly #kvHeads: number;
  readonly #headDim: number;
  readonly #scale: number;

  constructor(
    args: ModelArgs,
    readonly layer: number,
    oProjBias = args.attentionBias,
  ) {
    super();
    this.#heads = args.numAttentionHeads;
    this.#kvHeads = args.numKeyValueHeads;
    this.#headDim = args.headDim;
    this.#scale = Math.pow(args.headDim, -0.5);
    const d = args.hiddenSize;
    this.qProj = new nn.Linear(d, this.#heads * this.#headDim, args.attentionBias);
    this.kProj = new nn.Linear(d, this.#kvHeads * this.#headDim, args.attentionBias);
    this.vProj = new nn.Linear(d, this.#kvHeads * this.#headDim, args.attentionBias);
    this.oProj = new nn.Linear(this.#heads * this.#headDim, d, oProjBias);
  }

  /** Per-head transform of queries and keys before RoPE ([B, L, heads, headDim]); qwen3 norms them. */
  protected prepareQK(q: MxArray, k: MxArray): [MxArray, MxArray] {
    return [q, k];
  }

  forward(x: MxArray, ctx: LayerContext): MxArray {
    const [b, l] = x.shape;
    let q = this.qProj.forward(x).reshape([b, l, this.#heads, this.#headDim]);
    let k = this.kProj.forward(x).reshape([b, l, this.#kvHeads, this.#headDim]);
    const v = mx.transpose(this.vProj.forward(x).reshape([b, l, this.#kvHeads, this.#headDim]), [0, 2, 1, 3]);
    [q, k] = this.prepareQK(q, k);
    q = ctx.rope.apply(mx.transpose(q, [0, 2, 1, 3]), ctx.tables);
    k = ctx.rope.apply(mx.transpose(k, [0, 2, 1, 3]), ctx.tables);
    const [keys, values] = ctx.cache.updateAndFetch(this.layer, k, v);
    const out = mx.fast.scaledDotProductAttention(q, keys, values, this.#scale, ctx.mask);
    return this.oProj.forward(mx.transpose(out, [0, 2, 1, 3]).reshape([b, l, this.#heads * this.#headDim]));
  }
}

export class MLP extends nn.Module {
  gateProj: nn.Linear;
  downProj: nn.Linear;
  upProj: nn.Linear;

  constructor(args: ModelArgs) {
    super();
    this.gateProj = new nn.Linear(args.hiddenSize, args.intermediateSize, args.mlpBias);
    this.downProj = new nn.Linear(args.intermediateSize, args.hiddenSize, args.mlpBias);
    this.upProj = new nn.Linear(args.hiddenSize, args.intermediateSize, args.mlpBias);
  }

  forward(x: MxArray): MxArray {
    return this.downProj.forward(swiglu(this.gateProj.forward(x), this.upProj.forward(x)));
  }
}

export class TransformerBlock extends nn.Module {
  selfAttn: Attention;
  mlp: MLP;
  inputLayernorm: nn.RMSNorm;
  postAttentionLayernorm: nn.RMSNorm;

  constructor(args: ModelArgs, attention: Attention) {
    super();
    this.selfAttn = attention;
    this.mlp = new MLP(args);
    this.inputLayernorm = new nn.RMSNorm(args.hiddenSize, args.rmsNormEps);
    this.postAttentionLayernorm = new nn.RMSNorm(args.hiddenSize, args.rmsNormEps);
  }

  forward(x: MxArray, ctx: LayerContext): MxArray {
    const h = mx.add(x, this.selfAttn.forward(this.inputLayernorm.forward(x), ctx));
    return mx.add(h, this.mlp.forward(this.postAttentionLayernorm.forward(h)));
  }
}

export class LlamaModel extends nn.Module {
  embedTokens: nn.Embedding;
  layers: TransformerBlock[];
  norm: nn.RMSNorm;

  constructor(args: ModelArgs, makeAttention: (args: ModelArgs, layer: number) => Attention) {
    super();
    this.embedTokens = new nn.Embedding(args.vocabSize, args.hiddenSize);
    this.layers = [];
    for (let i = 0; i < args.numHiddenLayers; i++) {
      this.layers.push(new TransformerBlock(args, makeAttention(args, i)));
    }
    this.norm = new nn.RMSNorm(args.hiddenSize, args.rmsNormEps);
  }

  forward(inputs: MxArray, ctx: Omit<LayerContext, 'tables' | 'mask'>, heads: number, kvHeads: number): MxArray {
    return runSteps(this.steps(inputs, ctx, heads, kvHeads));
  }

  /** The pass as a generator: yields the hidden state after each layer, returns the normed output. */
  *steps(inputs: MxArray, ctx: Omit<LayerContext, 'tables' | 'mask'>, heads: number, kvHeads: number): Generator<MxArray, MxArray> {
    let h = this.embedTokens.forward(inputs);
    const [b, l] = inputs.shape;
    const step = ctx.cache.beginForward(l, h.dtype);
    // With grouped-query attention, scaledDotProductAttention here needs a 5-D mask
    // [B, 1, 1, L, S]: a 4-D one is broadcast against the wrong axes.
    const mask = step.mask && heads !== kvHeads ? step.mask.reshape([b, 1, 1, l, -1]) : step.mask;
    const full: LayerContext = { ...ctx, tables: ctx.rope.tables(step.positions, h.dtype), mask };
    for (const layer of this.layers) {
      h = layer.forward(h, full);
      yield h;
    }
    return this.norm.forward(h);
  }
}

/** Runs a pass generator to its end without stopping between layers. */
function runSteps<T>(steps: Generator<MxArray, T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

export class Model extends nn.Module implements LanguageModel {
  model: LlamaModel;
  lmHead?: nn.Linear;
  readonly #rope: RotaryEmbedding;

  constructor(
    readonly args: ModelArgs,
    makeAttention: (args: ModelArgs, layer: number) => Attention = (a, i) => new Attention(a, i),
  ) {
    super();
    this.model = new LlamaModel(args, makeAttention);
    if (!args.tieWordEmbeddings) this.lmHead = new nn.Linear(args.hiddenSize, args.vocabSize, false);
    this.#rope = new RotaryEmbedding(args.headDim, args.ropeTheta, args.ropeScaling);
  }

  forward(inputs: MxArray, cache: KVCache, options: ForwardOptions = {}): MxArray {
    return runSteps(this.#pass(inputs, cache, options));
  }

  forwardSteps(inputs: MxArray, cache: KVCache, options: ForwardOptions = {}): Generator<MxArray, MxArray> {
    return this.#pass(inputs, cache, options);
  }

  *#pass(inputs: MxArray, cache: KVCache, options: ForwardOptions): Generator<MxArray, MxArray> {
    let h = yield* this.model.steps(inputs, { rope: this.#rope, cache }, this.args.numAttentionHeads, this.args.numKeyValueHeads);
    if (options.lastOnly) {
      const l = h.shape[1];
      h = h.index(mx.Slice(), mx.Slice(l - 1, l));
    }
    const logits = this.lmHead ? this.lmHead.forward(h) : this.model.embedTokens.asLinear(h);
    return logits.dtype === mx.float32 ? logits : logits.astype(mx.float32);
  }

  sanitize(weights: Map<string, MxArray>): Map<string, MxArray> {
    const out = new Map<string, MxArray>();
    for (const [name, w] of weights) {
      if (name.includes('rotary_emb.inv_freq')) continue;
      if (this.args.tieWordEmbeddings && name.startsWith('lm_head.')) continue;
      out.set(name, w);
    }
    return out;
  }
}
