// Llama (Llama 2/3.x, CodeLlama, SmolLM, TinyLlama), after mlx-lm's models/llama.py:
// args -> attention -> MLP -> block -> model, plus sanitize. qwen2 and qwen3 subclass it.
import { mx, nn, type MxArray } from '../mlx';
import type { KVCache } from '../cache/types';
import { readArgs } from './args';
import { RotaryEmbedding, type RopeTables } from './rope';
import { compileAvailable, compiled } from './compiled';
import { swiglu } from './swiglu';
import { scaledDotProductAttention } from './sdpa';
import type { ForwardOptions, ForwardPart, LanguageModel, ModelArgs, ModelConfig } from './types';

export function llamaArgs(config: ModelConfig): ModelArgs {
  return readArgs(config, {
    tieWordEmbeddings: true,
    maxPositionEmbeddings: 2048,
    rmsNormEps: 1e-6,
    ropeTheta: 10000,
    qkNorm: false,
  });
}

/**
 * One part of a pass as every layer sees it: `rows` rows of `length` new tokens whose keys and
 * values go to `cache`, at `start` in the pass's packed token axis.
 */
export interface PartContext {
  start: number;
  rows: number;
  length: number;
  tables: RopeTables;
  /** Additive mask [B, 1, L, S] (sdpa.ts shapes it for grouped-query attention). */
  mask: MxArray | undefined;
  cache: KVCache;
}

/**
 * What every layer of one forward pass shares. With one part the hidden state is [rows, length,
 * D]; with several it is packed as [1, N, D] (each part's rows one after another), so the
 * projections and the MLP read every weight once for all parts and only attention runs per part.
 */
export interface LayerContext {
  rope: RotaryEmbedding;
  parts: PartContext[];
  /** The layers run as compiled graphs (`COMPILED_PASS_TOKENS`). */
  compiled: boolean;
}

/**
 * Passes of one part and at most this many new tokens run their layers as compiled graphs: decode
 * steps (one token a row, or one plus a draft). Their shapes (rows x tokens a row) recur step
 * after step and are few, so each is traced once and the traces stay few; much of their time went
 * to building the graph operation by operation (docs/PERFORMANCE.md, "Compiled layers for decode
 * passes"). Packed passes (prompt chunks beside decode rows) come in too many combinations of
 * shapes, whose traces MLX keeps for good, and prompt chunks spend their time in arithmetic: they
 * run as plain operations.
 */
export const COMPILED_PASS_TOKENS = 32;

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
    const q = this.qProj.forward(x);
    const k = this.kProj.forward(x);
    const v = this.vProj.forward(x);
    if (ctx.parts.length === 1) {
      const p = ctx.parts[0];
      return this.oProj.forward(this.merge(this.attendCached(this.perHead(q, k, v, p, ctx.rope, p.tables), p), [p.rows, p.length]));
    }
    const out = ctx.parts.map((p) => {
      const span = (a: MxArray) => a.index(mx.Slice(), mx.Slice(p.start, p.start + p.rows * p.length));
      return this.merge(this.attendCached(this.perHead(span(q), span(k), span(v), p, ctx.rope, p.tables), p), [1, p.rows * p.length]);
    });
    return this.oProj.forward(mx.concatenate(out, 1));
  }

  /** One part's projections as heads, RoPE applied: [rows, heads, length, headDim] (keys and values with kvHeads). */
  perHead(qIn: MxArray, kIn: MxArray, vIn: MxArray, p: { rows: number; length: number }, rope: RotaryEmbedding, tables: RopeTables): [MxArray, MxArray, MxArray] {
    const [b, l] = [p.rows, p.length];
    let q = qIn.reshape([b, l, this.#heads, this.#headDim]);
    let k = kIn.reshape([b, l, this.#kvHeads, this.#headDim]);
    const v = mx.transpose(vIn.reshape([b, l, this.#kvHeads, this.#headDim]), [0, 2, 1, 3]);
    [q, k] = this.prepareQK(q, k);
    return [rope.apply(mx.transpose(q, [0, 2, 1, 3]), tables), rope.apply(mx.transpose(k, [0, 2, 1, 3]), tables), v];
  }

  /** Writes the part's keys and values to its cache and attends over the cache: [rows, heads, length, headDim]. */
  attendCached([q, k, v]: [MxArray, MxArray, MxArray], p: PartContext): MxArray {
    const [keys, values] = p.cache.updateAndFetch(this.layer, k, v);
    return scaledDotProductAttention(q, keys, values, this.#scale, p.mask);
  }

  /** [rows, heads, length, headDim] -> [...shape, heads * headDim]. */
  merge(out: MxArray, shape: [number, number]): MxArray {
    return mx.transpose(out, [0, 2, 1, 3]).reshape([...shape, this.#heads * this.#headDim]);
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
    if (ctx.compiled) return this.#compiledForward(x, ctx.parts[0], ctx.rope);
    const h = mx.add(x, this.selfAttn.forward(this.inputLayernorm.forward(x), ctx));
    return this.#tail(h);
  }

  /** After attention's residual: the MLP and its residual. */
  #tail(h: MxArray): MxArray {
    return mx.add(h, this.mlp.forward(this.postAttentionLayernorm.forward(h)));
  }

  /**
   * The same layer for a small pass of one part, as two compiled graphs around the cache write and
   * attention (which take the cache's growing shapes): the norm, the projections and the heads
   * with RoPE; then the output projection, the MLP and both residuals.
   */
  #compiledForward(x: MxArray, p: PartContext, rope: RotaryEmbedding): MxArray {
    const attn = this.selfAttn;
    // The graphs hold the weights they were traced with: new weights (loaded, trained) trace anew.
    if (this.#tracedWith !== attn.qProj.weight) {
      this.#tracedWith = attn.qProj.weight;
      this.#head = this.#rest = undefined;
    }
    this.#head ??= compiled((x: MxArray, cos: MxArray, sin: MxArray) => {
      const [rows, length] = x.shape;
      const n = this.inputLayernorm.forward(x);
      return attn.perHead(attn.qProj.forward(n), attn.kProj.forward(n), attn.vProj.forward(n), { rows, length }, rope, { cos, sin });
    });
    this.#rest ??= compiled((x: MxArray, out: MxArray) => this.#tail(mx.add(x, attn.oProj.forward(attn.merge(out, [out.shape[0], out.shape[2]])))));
    return this.#rest(x, attn.attendCached(this.#head(x, p.tables.cos, p.tables.sin), p));
  }

  #tracedWith?: MxArray;
  #head?: (x: MxArray, cos: MxArray, sin: MxArray) => [MxArray, MxArray, MxArray];
  #rest?: (x: MxArray, out: MxArray) => MxArray;
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

  forward(parts: readonly ForwardPart[], rope: RotaryEmbedding): MxArray {
    return runSteps(this.steps(parts, rope));
  }

  /** The pass as a generator: yields the hidden state after each layer, returns the normed output. */
  *steps(parts: readonly ForwardPart[], rope: RotaryEmbedding): Generator<MxArray, MxArray> {
    if (parts.length === 0) throw new Error('a forward pass needs at least one part');
    const packed = parts.length > 1;
    const inputs = packed ? mx.concatenate(parts.map((p) => p.inputs.reshape([1, -1])), 1) : parts[0].inputs;
    let h = this.embedTokens.forward(inputs);
    const ctx: LayerContext = {
      rope,
      compiled: !packed && inputs.size <= COMPILED_PASS_TOKENS && compileAvailable(),
      parts: packedLayout(parts).map(({ start, rows: b, length: l }, i) => {
        const cache = parts[i].cache;
        const step = cache.beginForward(l, h.dtype);
        return { start, rows: b, length: l, tables: rope.tables(step.positions, h.dtype), mask: step.mask, cache };
      }),
    };
    for (const layer of this.layers) {
      h = layer.forward(h, ctx);
      yield h;
    }
    return this.norm.forward(h);
  }
}

/** Where each part's rows sit in a packed pass: `start` in the token axis, `rows` of `length` tokens. */
function packedLayout(parts: readonly ForwardPart[]): { start: number; rows: number; length: number }[] {
  let start = 0;
  return parts.map(({ inputs }) => {
    const [rows, length] = inputs.shape;
    const at = { start, rows, length };
    start += rows * length;
    return at;
  });
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
    return runSteps(this.#pass([{ inputs, cache }], options));
  }

  forwardSteps(parts: readonly ForwardPart[], options: ForwardOptions = {}): Generator<MxArray, MxArray> {
    return this.#pass(parts, options);
  }

  shiftKeys(keys: MxArray, distance: number): MxArray {
    const [b, , l] = keys.shape;
    return this.#rope.apply(keys, this.#rope.tables(mx.full([b, l], distance, mx.int32), keys.dtype));
  }

  *#pass(parts: readonly ForwardPart[], options: ForwardOptions): Generator<MxArray, MxArray> {
    let h = yield* this.model.steps(parts, this.#rope);
    if (options.pick) {
      h = mx.take(h.reshape([1, -1, h.shape[2]]), mx.array([...options.pick], mx.int32), 1).reshape([options.pick.length, 1, -1]);
    } else if (options.lastOnly && parts.length === 1) {
      const l = h.shape[1];
      h = h.index(mx.Slice(), mx.Slice(l - 1, l));
    } else if (options.lastOnly) {
      // The last token of every row of every part, as rows of their own: [rows, 1, D].
      const last = packedLayout(parts).flatMap(({ start, rows, length }) => Array.from({ length: rows }, (_, r) => start + (r + 1) * length - 1));
      h = mx.take(h, mx.array(last, mx.int32), 1).reshape([last.length, 1, -1]);
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
