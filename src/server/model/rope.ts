// Rotary position embedding from per-row positions. mx.fast.rope takes one scalar offset for
// the whole batch here, so the angles come from the cache's [B, L] positions, once per pass.
import { mx, type Dtype, type MxArray } from '../mlx';

/** cos and sin of every (row, position, frequency): [B, 1, L, dims/2], shared by all layers. */
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
    return { cos: mx.cos(angles).astype(dtype), sin: mx.sin(angles).astype(dtype) };
  }

  /** x: [B, heads, L, dims]. */
  apply(x: MxArray, t: RopeTables): MxArray {
    const half = this.dims / 2;
    const x1 = x.index('...', mx.Slice(0, half));
    const x2 = x.index('...', mx.Slice(half, this.dims));
    return mx.concatenate(
      [
        mx.subtract(mx.multiply(x1, t.cos), mx.multiply(x2, t.sin)),
        mx.add(mx.multiply(x2, t.cos), mx.multiply(x1, t.sin)),
      ],
      -1,
    );
  }
}
