// Tiny random-weight models in memory (for the cache tests) and float64 views of logits.
import { mx, type MxArray } from '../../../src/server/mlx';
import { checkModelConfig } from '../../../src/server/loader/config';
import { createModel, parseModelArgs } from '../../../src/server/model';
import type { LanguageModel } from '../../../src/server/model/types';

export const TINY = {
  hidden_size: 32,
  num_hidden_layers: 2,
  intermediate_size: 48,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 97,
  rms_norm_eps: 1e-5,
};

const snake = (name: string) => name.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());

/** Every parameter array by checkpoint (snake_case) name. */
export function namedParameters(model: LanguageModel): [string, MxArray][] {
  const out: [string, MxArray][] = [];
  const walk = (node: unknown, prefix: string): void => {
    if (node instanceof mx.array) out.push([prefix, node]);
    else if (Array.isArray(node)) node.forEach((v, i) => walk(v, `${prefix}.${i}`));
    else if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) walk(v, prefix ? `${prefix}.${snake(k)}` : snake(k));
    }
  };
  walk(model.parameters(), '');
  return out;
}

/** A model with every parameter random (norm weights near 1, biases small), fixed seed. */
export function tinyModel(config: Record<string, unknown>, seed = 7): LanguageModel {
  const model = createModel(parseModelArgs(checkModelConfig({ ...TINY, ...config })));
  const updated = namedParameters(model).map(([name, p], i): [string, MxArray] => {
    const noise = mx.random.normal(p.shape, mx.float32, 0, 1, mx.random.key(seed * 1000 + i));
    if (name.includes('norm')) return [name, mx.add(mx.multiply(noise, 0.2), 1)];
    if (name.endsWith('.bias')) return [name, mx.multiply(noise, 0.1)];
    const scale = name.includes('embed_tokens') ? 1 : 1 / Math.sqrt(p.shape[p.shape.length - 1]);
    return [name, mx.multiply(noise, scale)];
  });
  model.loadWeights(updated);
  mx.eval(model.parameters());
  return model;
}

function flat(a: MxArray): Float64Array {
  return Float64Array.from((a.astype(mx.float32).tolist() as unknown[]).flat(Infinity) as number[]);
}

/** logits [B, L, V] -> rows[b][l] as float64. */
export function logitRows(logits: MxArray): Float64Array[][] {
  const [b, l, v] = logits.shape;
  const data = flat(logits);
  return Array.from({ length: b }, (_, i) =>
    Array.from({ length: l }, (_, j) => data.slice((i * l + j) * v, (i * l + j + 1) * v)),
  );
}

/** Relative error max|a - b| / max|b| over all the vectors given. */
export function relativeError(actual: readonly Float64Array[], expected: readonly Float64Array[]): number {
  if (actual.length !== expected.length) throw new Error(`compared ${actual.length} vectors against ${expected.length}`);
  let diff = 0;
  let scale = 0;
  actual.forEach((a, i) => {
    const e = expected[i];
    if (a.length !== e.length) throw new Error(`vector ${i}: length ${a.length} vs ${e.length}`);
    for (let j = 0; j < a.length; j++) {
      diff = Math.max(diff, Math.abs(a[j] - e[j]));
      scale = Math.max(scale, Math.abs(e[j]));
    }
  });
  return diff / scale;
}

export function tokens(ids: readonly number[]): MxArray {
  return mx.array([[...ids]], mx.int32);
}
