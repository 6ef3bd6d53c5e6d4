// MLX affine-quantized layers in a checkpoint: `X.weight` (packed uint32) + `X.scales` +
// `X.biases`. Either dequantized to float weights at load (CPU) or loaded into quantized modules.
import { MlxBatchError } from '../../shared/errors';
import { mx, nn, type MxArray } from '../mlx';
import { MLX_QUANTIZATION, type QuantParams, type Quantization } from './config';

/** Layer prefixes X that have an `X.scales` tensor. */
export function quantizedPrefixes(names: Iterable<string>): string[] {
  const out: string[] = [];
  for (const n of names) if (n.endsWith('.scales')) out.push(n.slice(0, -'.scales'.length));
  return out.sort();
}

/** The group size and bits of layer `prefix` (a per-layer entry wins), or false if it is not quantized. */
export function layerParams(q: Quantization, prefix: string): QuantParams | false {
  return q.layers.get(prefix) ?? { groupSize: q.groupSize, bits: q.bits };
}

function requireQuantization(q: Quantization | undefined, prefix: string): Quantization {
  if (!q) {
    throw new MlxBatchError(
      'invalid_config',
      `the weights are quantized (${prefix}.scales) but config.json has no "quantization": {"group_size", "bits"}`,
      'config.json',
    );
  }
  return q;
}

/** Checks one quantized triple against its group size and bits; returns the float weight's shape. */
export function checkQuantizedTriple(prefix: string, weight: MxArray | undefined, scales: MxArray, biases: MxArray | undefined, p: QuantParams): number[] {
  const missing = [weight ? undefined : `${prefix}.weight`, biases ? undefined : `${prefix}.biases`].filter(Boolean);
  if (missing.length > 0) throw new MlxBatchError('missing_tensors', `quantized layer ${prefix} has scales but no ${missing.join(' or ')}`);
  const w = weight as MxArray;
  const b = biases as MxArray;
  if (w.dtype !== mx.uint32) throw new MlxBatchError('shape_mismatch', `${prefix}.weight should be packed uint32 for a quantized layer, got ${String(w.dtype)}`);
  const packed = w.shape[w.shape.length - 1];
  const cols = (packed * 32) / p.bits;
  const groups = cols / p.groupSize;
  const expect = [...w.shape.slice(0, -1), groups];
  const same = (a: number[], e: number[]) => a.length === e.length && a.every((v, i) => v === e[i]);
  if (!Number.isInteger(groups) || !same(scales.shape, expect) || !same(b.shape, expect)) {
    throw new MlxBatchError(
      'shape_mismatch',
      `quantized layer ${prefix}: weight [${w.shape.join(', ')}] at ${p.bits} bits, group size ${p.groupSize} needs scales and biases ` +
        `[${expect.join(', ')}], got scales [${scales.shape.join(', ')}], biases [${b.shape.join(', ')}] (check "quantization" in config.json)`,
    );
  }
  return [...w.shape.slice(0, -1), cols];
}

/** Replaces every quantized triple with its dequantized float weight (lazy; evaluated by the caller). */
export function dequantizeWeights(weights: Map<string, MxArray>, q: Quantization | undefined): Map<string, MxArray> {
  const out = new Map(weights);
  for (const prefix of quantizedPrefixes(weights.keys())) {
    const quant = requireQuantization(q, prefix);
    const p = layerParams(quant, prefix);
    if (p === false) throw new MlxBatchError('invalid_config', `config.json marks ${prefix} as not quantized, but the weights have ${prefix}.scales`);
    const w = weights.get(`${prefix}.weight`);
    const s = weights.get(`${prefix}.scales`) as MxArray;
    const b = weights.get(`${prefix}.biases`);
    checkQuantizedTriple(prefix, w, s, b, p);
    out.set(`${prefix}.weight`, mx.dequantize(w as MxArray, s, b as MxArray, p.groupSize, p.bits));
    out.delete(`${prefix}.scales`);
    out.delete(`${prefix}.biases`);
  }
  return out;
}

/** Swaps the module's Linear/Embedding layers that have scales in `weights` for quantized ones. */
export function quantizeModule(model: nn.Module, weights: Map<string, MxArray>, q: Quantization | undefined): void {
  const byParams = new Map<string, Set<string>>();
  for (const prefix of quantizedPrefixes(weights.keys())) {
    const p = layerParams(requireQuantization(q, prefix), prefix);
    if (p === false) throw new MlxBatchError('invalid_config', `config.json marks ${prefix} as not quantized, but the weights have ${prefix}.scales`);
    const shape = checkQuantizedTriple(prefix, weights.get(`${prefix}.weight`), weights.get(`${prefix}.scales`) as MxArray, weights.get(`${prefix}.biases`), p);
    const features = shape[shape.length - 1];
    const min = MLX_QUANTIZATION.minFeatures[p.bits] ?? 0;
    if (features < min) {
      throw new MlxBatchError(
        'unsupported_model',
        `quantized layer ${prefix} has ${features} input features at ${p.bits} bits; MLX keeps a ${p.bits}-bit layer packed only from ${min} features: ` +
          'load the model with --device cpu (it is dequantized at load) or use a wider quantization',
      );
    }
    const key = `${p.groupSize}/${p.bits}`;
    if (!byParams.has(key)) byParams.set(key, new Set());
    byParams.get(key)?.add(prefix);
  }
  for (const [key, prefixes] of byParams) {
    const [groupSize, bits] = key.split('/').map(Number);
    nn.quantize(model, groupSize, bits, (p, m) => prefixes.has(p) && typeof (m as { toQuantized?: unknown }).toQuantized === 'function');
  }
}
