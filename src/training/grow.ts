// Depth growth for a later training phase (block expansion, as in LLaMA Pro): a model folder of
// L layers becomes the first weights of a model of N > L layers. Every original block is kept, in
// order, and each new block is a copy of the block before it with its output projections
// (attention `o_proj`, MLP `down_proj`, and their biases if any) set to zero. A zeroed block adds
// nothing to the residual stream, so the grown model computes exactly what the smaller one did
// and training starts from there rather than from scratch.
import { mx, type MxArray } from '../server/mlx';

const LAYER_KEY = /^model\.layers\.(\d+)\.(.+)$/;
/** The projections whose zeroing makes a Qwen2/Llama block the identity on the residual stream (biases where a config has them). */
const OUTPUT_PROJECTIONS = ['self_attn.o_proj.weight', 'self_attn.o_proj.bias', 'mlp.down_proj.weight', 'mlp.down_proj.bias'];

/** For each of `to` layers, the source layer it copies and whether it is a zeroed copy; originals keep their order. */
export function growthPlan(from: number, to: number): { source: number; copy: boolean }[] {
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 1 || to < from) {
    throw new Error(`cannot grow a model of ${from} layers to ${to}`);
  }
  const plan: { source: number; copy: boolean }[] = [];
  for (let j = 0; j < to; j++) {
    const source = Math.floor((j * from) / to);
    plan.push({ source, copy: plan.length > 0 && plan[plan.length - 1].source === source });
  }
  return plan;
}

/** The weights of a `to`-layer model that computes what the `from`-layer `weights` compute. */
export function growLayers(weights: Record<string, MxArray>, from: number, to: number): Record<string, MxArray> {
  const out: Record<string, MxArray> = {};
  const layers: Record<string, MxArray>[] = Array.from({ length: from }, () => ({}));
  for (const [key, value] of Object.entries(weights)) {
    const m = LAYER_KEY.exec(key);
    if (!m) { out[key] = value; continue; }
    const i = Number(m[1]);
    if (i >= from) throw new Error(`weight ${key} is beyond the ${from} layers the model folder declares`);
    layers[i][m[2]] = value;
  }
  growthPlan(from, to).forEach(({ source, copy }, j) => {
    for (const [name, value] of Object.entries(layers[source])) {
      out[`model.layers.${j}.${name}`] = copy && OUTPUT_PROJECTIONS.includes(name) ? mx.multiply(value, 0) : value;
    }
  });
  return out;
}
