// An independent float64 reference of the llama / qwen2 / qwen3 forward pass in plain
// TypeScript (no MLX, none of the project's code), for tiny shapes: the whole sequence at once,
// positions 0..n-1.

/** What the reference needs of config.json, read by model-folder.ts from the raw file. */
export interface ReferenceArgs {
  hiddenSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  numKeyValueHeads: number;
  headDim: number;
  vocabSize: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling?: Record<string, unknown>;
  tieWordEmbeddings: boolean;
  /** RMSNorm of each query and key head (qwen3). */
  qkNorm: boolean;
}

export interface Tensor {
  data: Float64Array;
  shape: number[];
}

export type Weights = Map<string, Tensor>;

function weight(w: Weights, name: string): Tensor {
  const t = w.get(name);
  if (!t) throw new Error(`reference: missing weight ${name}`);
  return t;
}

/** y[n, out] = x[n, in] . W[out, in]^T + b */
function linear(x: Float64Array[], w: Tensor, b?: Tensor): Float64Array[] {
  const [out, inp] = w.shape;
  return x.map((row) => {
    const y = new Float64Array(out);
    for (let o = 0; o < out; o++) {
      let s = b ? b.data[o] : 0;
      for (let i = 0; i < inp; i++) s += row[i] * w.data[o * inp + i];
      y[o] = s;
    }
    return y;
  });
}

function rmsNorm(x: Float64Array, w: Tensor, eps: number, offset = 0, dims = x.length): void {
  let ss = 0;
  for (let i = 0; i < dims; i++) ss += x[offset + i] ** 2;
  const r = 1 / Math.sqrt(ss / dims + eps);
  for (let i = 0; i < dims; i++) x[offset + i] = x[offset + i] * r * w.data[i];
}

/** HF-style inverse frequencies, written independently of src/server/model/rope.ts. */
export function referenceInvFreq(args: ReferenceArgs): Float64Array {
  const dims = args.headDim;
  const base = Array.from({ length: dims / 2 }, (_, i) => Math.pow(args.ropeTheta, -(2 * i) / dims));
  const s = args.ropeScaling;
  const kind = s ? (s.rope_type ?? s.type) : undefined;
  if (!s || kind === undefined || kind === 'default') return Float64Array.from(base);
  const factor = s.factor as number;
  if (kind === 'linear') return Float64Array.from(base.map((f) => f / factor));
  if (kind !== 'llama3') throw new Error(`reference: rope type ${String(kind)}`);
  const lowF = (s.low_freq_factor as number) ?? 1;
  const highF = (s.high_freq_factor as number) ?? 4;
  const orig = (s.original_max_position_embeddings as number) ?? 8192;
  return Float64Array.from(
    base.map((invFreq) => {
      const wavelen = (2 * Math.PI) / invFreq;
      const scaled = wavelen > orig / lowF ? invFreq / factor : invFreq;
      const isMedium = !(wavelen < orig / highF) && !(wavelen > orig / lowF);
      if (!isMedium) return scaled;
      const smooth = (orig / wavelen - lowF) / (highF - lowF);
      return (1 - smooth) * (scaled / factor) + smooth * scaled;
    }),
  );
}

/** Half-rotation RoPE of one head vector in place. */
function rope(x: Float64Array, offset: number, dims: number, pos: number, inv: Float64Array): void {
  const half = dims / 2;
  for (let i = 0; i < half; i++) {
    const a = pos * inv[i];
    const c = Math.cos(a);
    const s = Math.sin(a);
    const x1 = x[offset + i];
    const x2 = x[offset + half + i];
    x[offset + i] = x1 * c - x2 * s;
    x[offset + half + i] = x2 * c + x1 * s;
  }
}

/** Logits [n][vocab] for every position of `tokens`. */
export function referenceLogits(args: ReferenceArgs, w: Weights, tokens: readonly number[]): Float64Array[] {
  const d = args.hiddenSize;
  const hd = args.headDim;
  const nh = args.numAttentionHeads;
  const nkv = args.numKeyValueHeads;
  const inv = referenceInvFreq(args);
  const emb = weight(w, 'model.embed_tokens.weight');
  let h = tokens.map((t) => emb.data.slice(t * d, (t + 1) * d));
  const n = tokens.length;
  for (let l = 0; l < args.numHiddenLayers; l++) {
    const p = `model.layers.${l}.`;
    const x = h.map((r) => r.slice());
    x.forEach((r) => rmsNorm(r, weight(w, p + 'input_layernorm.weight'), args.rmsNormEps));
    const bias = (name: string) => w.get(p + name);
    const q = linear(x, weight(w, p + 'self_attn.q_proj.weight'), bias('self_attn.q_proj.bias'));
    const k = linear(x, weight(w, p + 'self_attn.k_proj.weight'), bias('self_attn.k_proj.bias'));
    const v = linear(x, weight(w, p + 'self_attn.v_proj.weight'), bias('self_attn.v_proj.bias'));
    for (let t = 0; t < n; t++) {
      for (let hh = 0; hh < nh; hh++) {
        if (args.qkNorm) rmsNorm(q[t], weight(w, p + 'self_attn.q_norm.weight'), args.rmsNormEps, hh * hd, hd);
        rope(q[t], hh * hd, hd, t, inv);
      }
      for (let hh = 0; hh < nkv; hh++) {
        if (args.qkNorm) rmsNorm(k[t], weight(w, p + 'self_attn.k_norm.weight'), args.rmsNormEps, hh * hd, hd);
        rope(k[t], hh * hd, hd, t, inv);
      }
    }
    const attn = Array.from({ length: n }, () => new Float64Array(nh * hd));
    const group = nh / nkv;
    for (let t = 0; t < n; t++) {
      for (let hh = 0; hh < nh; hh++) {
        const kh = Math.floor(hh / group);
        const scores = new Float64Array(t + 1);
        let max = -Infinity;
        for (let s = 0; s <= t; s++) {
          let dot = 0;
          for (let i = 0; i < hd; i++) dot += q[t][hh * hd + i] * k[s][kh * hd + i];
          scores[s] = dot / Math.sqrt(hd);
          max = Math.max(max, scores[s]);
        }
        let sum = 0;
        for (let s = 0; s <= t; s++) sum += (scores[s] = Math.exp(scores[s] - max));
        for (let s = 0; s <= t; s++) {
          for (let i = 0; i < hd; i++) attn[t][hh * hd + i] += (scores[s] / sum) * v[s][kh * hd + i];
        }
      }
    }
    const o = linear(attn, weight(w, p + 'self_attn.o_proj.weight'), bias('self_attn.o_proj.bias'));
    h = h.map((r, t) => r.map((val, i) => val + o[t][i]));
    const x2 = h.map((r) => r.slice());
    x2.forEach((r) => rmsNorm(r, weight(w, p + 'post_attention_layernorm.weight'), args.rmsNormEps));
    const gate = linear(x2, weight(w, p + 'mlp.gate_proj.weight'), bias('mlp.gate_proj.bias'));
    const up = linear(x2, weight(w, p + 'mlp.up_proj.weight'), bias('mlp.up_proj.bias'));
    const act = gate.map((g, t) => g.map((val, i) => (val / (1 + Math.exp(-val))) * up[t][i]));
    const down = linear(act, weight(w, p + 'mlp.down_proj.weight'), bias('mlp.down_proj.bias'));
    h = h.map((r, t) => r.map((val, i) => val + down[t][i]));
  }
  h.forEach((r) => rmsNorm(r, weight(w, 'model.norm.weight'), args.rmsNormEps));
  const head = args.tieWordEmbeddings ? emb : weight(w, 'lm_head.weight');
  return linear(h, head);
}
