// Rotary position embedding from per-row positions. mx.fast.rope takes one scalar offset for
// the whole batch here, so the angles come from the cache's [B, L] positions, once per pass.
import { mx, type Dtype, type MxArray } from '../mlx';

/**
 * The rotation of every (row, position, dimension), shared by all layers: [B, 1, L, dims], as
 * [cos, cos] and [-sin, sin] over the two halves, so that one layer's RoPE is
 * x * cos + rotateHalf(x) * sin (rotateHalf swaps the halves).
 */
export interface RopeTables {
  cos: MxArray;
  sin: MxArray;
}

/** The rope_scaling types this file computes (the loader refuses others). */
export const ROPE_SCALING_TYPES: readonly string[] = ['default', 'linear', 'llama3'];

/** rope_scaling's type as config.json names it (`rope_type`, or the older `type`). */
export function ropeScalingType(scaling: Record<string, unknown> | undefined): string {
  return scaling ? String(scaling.rope_type ?? scaling.type ?? 'default') : 'default';
}

/** Inverse frequencies (radians per position) for rope_theta and an optional rope_scaling. */
export function ropeInverseFrequencies(
  dims: number,
  theta: number,
  scaling?: Record<string, unknown>,
): Float64Array {
  const half = dims / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / Math.pow(theta, (2 * i) / dims);
  const type = ropeScalingType(scaling);
  if (type === 'default') return inv;
  const factor = Number(scaling?.factor ?? 1);
  if (type === 'linear') return inv.map((f) => f / factor);
  if (type === 'llama3') {
    const low = Number(scaling?.low_freq_factor ?? 1);
    const high = Number(scaling?.high_freq_factor ?? 4);
    const oldContext = Number(scaling?.original_max_position_embeddings ?? 8192);
    const lowWavelen = oldContext / low;
    const highWavelen = oldContext / high;
    return inv.map((f) => {
      const wavelen = (2 * Math.PI) / f;
      if (wavelen > lowWavelen) return f / factor;
      if (wavelen < highWavelen) return f;
      const smooth = (oldContext / wavelen - low) / (high - low);
      return ((1 - smooth) / factor + smooth) * f;
    });
  }
  throw new Error(`rope_scaling type '${type}' reached the model; the loader admits only ${ROPE_SCALING_TYPES.join(', ')}`);
}

/** Non-traditional (half-rotation) RoPE as Llama and Qwen use. */
export class RotaryEmbedding {
  readonly #invFreq: MxArray;

  constructor(
    readonly dims: number,
    theta: number,
    scaling?: Record<string, unknown>,
  ) {
    this.#invFreq = mx.array(Array.from(ropeInverseFrequencies(dims, theta, scaling)), mx.float32);
  }

  tables(positions: MxArray, dtype: Dtype): RopeTables {
    const [b, l] = positions.shape;
    const pos = positions.astype(mx.float32).reshape([b, 1, l, 1]);
    const angles = mx.multiply(pos, this.#invFreq.reshape([1, 1, 1, this.dims / 2]));
    const cos = mx.cos(angles).astype(dtype);
    const sin = mx.sin(angles).astype(dtype);
    return { cos: mx.concatenate([cos, cos], -1), sin: mx.concatenate([mx.negative(sin), sin], -1) };
  }

  /**
   * x: [B, heads, L, dims]. The halves (x1, x2) become (x1 cos - x2 sin, x2 cos + x1 sin),
   * computed as x * [cos, cos] + [x2, x1] * [-sin, sin]: the same numbers, fewer operations.
   */
  apply(x: MxArray, t: RopeTables): MxArray {
    const half = this.dims / 2;
    const swapped = mx.concatenate([x.index('...', mx.Slice(half, this.dims)), x.index('...', mx.Slice(0, half))], -1);
    return mx.add(mx.multiply(x, t.cos), mx.multiply(swapped, t.sin));
  }
}
