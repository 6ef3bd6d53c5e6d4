// A bare Qwen2 decoder (random f32 weights, batch rows at one position) for the speed benches:
// the same per-token work as the real model, with switches for weight layout and fusion.
import { mx, type MxArray } from '../../src/server/mlx';
import type { Sequence } from './decode-loop';

export interface StackShape {
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediate: number;
  vocab: number;
  ropeTheta: number;
  eps: number;
}

/** Qwen2.5-0.5B (tied embeddings, q/k/v bias). */
export const QWEN25_05B: StackShape = {
  hidden: 896, layers: 24, heads: 14, kvHeads: 2, headDim: 64, intermediate: 4864, vocab: 151936, ropeTheta: 1e6, eps: 1e-6,
};

export interface StackLayout {
  /** 'linear': W [out,in] used as x @ W.T (nn.Linear); 'pretransposed': W.T stored contiguous [in,out]. */
  layout: 'linear' | 'pretransposed';
  /** One matmul for q/k/v and one for gate/up. */
  fuse: boolean;
}

interface Proj { w: MxArray; b?: MxArray }
interface Layer { inNorm: MxArray; postNorm: MxArray; q: Proj; k: Proj; v: Proj; qkv?: Proj; o: Proj; gate: Proj; up: Proj; gateUp?: Proj; down: Proj }

/** Random weights in the checkpoint layout ([out,in]); several stacks can share them. */
export interface StackWeights { shape: StackShape; embed: MxArray; norm: MxArray; layers: Layer[] }

export function randomWeights(shape: StackShape): StackWeights {
  const rnd = (dims: number[]): MxArray => {
    const a = mx.random.normal(dims, mx.float32, 0, 0.02);
    mx.eval(a);
    return a;
  };
  const { hidden: D, heads: H, kvHeads: KH, headDim: hd, intermediate: F } = shape;
  const ones = (): MxArray => mx.ones([D]);
  const layers: Layer[] = [];
  for (let l = 0; l < shape.layers; l++) {
    layers.push({
      inNorm: ones(), postNorm: ones(),
      q: { w: rnd([H * hd, D]), b: rnd([H * hd]) }, k: { w: rnd([KH * hd, D]), b: rnd([KH * hd]) }, v: { w: rnd([KH * hd, D]), b: rnd([KH * hd]) },
      o: { w: rnd([D, H * hd]) }, gate: { w: rnd([F, D]) }, up: { w: rnd([F, D]) }, down: { w: rnd([D, F]) },
    });
  }
  return { shape, embed: rnd([shape.vocab, D]), norm: ones(), layers };
}

/** Bytes of weights one decode token reads (tied lm_head = the embedding matrix, plus one embedding row). */
export function weightBytesPerToken(w: StackWeights): number {
  let n = w.embed.size + w.shape.hidden + w.norm.size;
  for (const l of w.layers) {
    for (const p of [l.q, l.k, l.v, l.o, l.gate, l.up, l.down]) n += p.w.size + (p.b?.size ?? 0);
    n += l.inNorm.size + l.postNorm.size;
  }
  return n * 4;
}

const contiguousT = (w: MxArray): MxArray => {
  const t = mx.add(mx.transpose(w, [1, 0]), mx.zeros([1], mx.float32));
  mx.eval(t);
  return t;
};

export class Qwen2Stack {
  private readonly layers: Layer[];
  private readonly head: MxArray;
  private readonly shape: StackShape;

  constructor(private readonly weights: StackWeights, readonly layout: StackLayout) {
    this.shape = weights.shape;
    const lay = (p: Proj): Proj => (layout.layout === 'pretransposed' ? { w: contiguousT(p.w), b: p.b } : p);
    const cat = (ps: Proj[]): Proj => {
      const w = mx.concatenate(ps.map((p) => p.w), 0);
      const b = ps.every((p) => p.b) ? mx.concatenate(ps.map((p) => p.b as MxArray), 0) : undefined;
      mx.eval(w);
      if (b) mx.eval(b);
      return lay({ w, b });
    };
    this.layers = weights.layers.map((l) => {
      const base = { inNorm: l.inNorm, postNorm: l.postNorm, o: lay(l.o), down: lay(l.down) };
      if (layout.fuse) return { ...base, q: l.q, k: l.k, v: l.v, gate: l.gate, up: l.up, qkv: cat([l.q, l.k, l.v]), gateUp: cat([l.gate, l.up]) };
      return { ...base, q: lay(l.q), k: lay(l.k), v: lay(l.v), gate: lay(l.gate), up: lay(l.up) };
    });
    this.head = layout.layout === 'pretransposed' ? contiguousT(weights.embed) : weights.embed;
  }

  private linear(x: MxArray, p: Proj): MxArray {
    const w = this.layout.layout === 'pretransposed' ? p.w : p.w.T;
    return p.b ? mx.addmm(p.b, x, w) : mx.matmul(x, w);
  }

  /** tokens [B, L] int32 at positions offset..offset+L-1; cache holds [keys, values] per layer. */
  forward(tokens: MxArray, cache: Array<[MxArray, MxArray] | undefined>, offset: number): MxArray {
    const { heads: H, kvHeads: KH, headDim: hd, intermediate: F, eps, ropeTheta } = this.shape;
    const [B, L] = tokens.shape;
    let x = mx.take(this.weights.embed, tokens, 0);
    const mask = L > 1 ? causalMask(L, offset) : undefined;
    this.layers.forEach((ly, i) => {
      const h = mx.fast.rmsNorm(x, ly.inNorm, eps);
      let q: MxArray, k: MxArray, v: MxArray;
      if (ly.qkv) [q, k, v] = mx.split(this.linear(h, ly.qkv), [H * hd, (H + KH) * hd], -1);
      else [q, k, v] = [this.linear(h, ly.q), this.linear(h, ly.k), this.linear(h, ly.v)];
      q = mx.fast.rope(mx.transpose(q.reshape([B, L, H, hd]), [0, 2, 1, 3]), hd, false, ropeTheta, 1, offset);
      k = mx.fast.rope(mx.transpose(k.reshape([B, L, KH, hd]), [0, 2, 1, 3]), hd, false, ropeTheta, 1, offset);
      v = mx.transpose(v.reshape([B, L, KH, hd]), [0, 2, 1, 3]);
      const prev = cache[i];
      if (prev) [k, v] = [mx.concatenate([prev[0], k], 2), mx.concatenate([prev[1], v], 2)];
      cache[i] = [k, v];
      const a = mx.fast.scaledDotProductAttention(q, k, v, 1 / Math.sqrt(hd), mask);
      x = mx.add(x, this.linear(mx.transpose(a, [0, 2, 1, 3]).reshape([B, L, H * hd]), ly.o));
      const h2 = mx.fast.rmsNorm(x, ly.postNorm, eps);
      let g: MxArray, u: MxArray;
      if (ly.gateUp) [g, u] = mx.split(this.linear(h2, ly.gateUp), [F], -1);
      else [g, u] = [this.linear(h2, ly.gate), this.linear(h2, ly.up)];
      x = mx.add(x, this.linear(mx.multiply(mx.multiply(g, mx.sigmoid(g)), u), ly.down));
    });
    x = mx.fast.rmsNorm(x, this.weights.norm, eps);
    return this.layout.layout === 'pretransposed' ? mx.matmul(x, this.head) : mx.matmul(x, this.head.T);
  }
}

function causalMask(L: number, offset: number): MxArray {
  const rows = mx.add(mx.arange(L).reshape([L, 1]), offset);
  const cols = mx.arange(L + offset).reshape([1, L + offset]);
  return mx.where(mx.greater(cols, rows), mx.array(-1e9, mx.float32), mx.array(0, mx.float32));
}

/** One sequence decoding through the bare stack, with its own concatenated cache. */
export function stackSequence(stack: Qwen2Stack): Sequence {
  const cache: Array<[MxArray, MxArray] | undefined> = [];
  let offset = 0;
  return {
    forward(tokens: MxArray): MxArray {
      const out = stack.forward(tokens, cache, offset);
      offset += tokens.shape[1];
      return out;
    },
  };
}
