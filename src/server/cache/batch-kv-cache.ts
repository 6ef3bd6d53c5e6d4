// One KV cache for B rows (B = 1 is the single-sequence case), after mlx-lm's BatchKVCache:
// rows are right-aligned (left padding), each row has its own length and positions, and the
// cache builds the mask. The batch engine merges rows in, removes them and compacts.
import { mx, type Dtype, type MxArray } from '../mlx';
import { MlxBatchError } from '../../shared/errors';
import type { ForwardStep, KVCache } from './types';

/** Large negative that stays finite in the compute dtype (a fully hidden row must not give NaN). */
function hiddenValue(dtype: Dtype): number {
  return dtype === mx.float16 ? -3e4 : -1e9;
}

function internal(message: string): MlxBatchError {
  return new MlxBatchError('internal', `KV cache: ${message}`);
}

export class BatchKVCache implements KVCache {
  #keys: (MxArray | undefined)[];
  #values: (MxArray | undefined)[];
  /** Valid tokens per row; row b holds columns [columns - lengths[b], columns). */
  #lengths: number[];
  /** Input columns still to come that are left padding for the row (batched prefill). */
  #pendingPad: number[];
  #columns = 0;

  /**
   * `leftPadding[b]`: how many leading input columns of row b are padding (the rows of a
   * batched prefill are left-padded to one length). Its length is the batch size.
   */
  constructor(
    readonly numLayers: number,
    leftPadding: readonly number[] = [0],
  ) {
    this.#keys = new Array<MxArray | undefined>(numLayers).fill(undefined);
    this.#values = new Array<MxArray | undefined>(numLayers).fill(undefined);
    this.#lengths = leftPadding.map(() => 0);
    this.#pendingPad = leftPadding.map((p) => {
      if (!Number.isInteger(p) || p < 0) throw internal(`invalid left padding ${p}`);
      return p;
    });
  }

  /** A cache for prompts of these lengths, prefilled together left-padded to the longest. */
  static forPrompts(numLayers: number, promptLengths: readonly number[]): BatchKVCache {
    const longest = Math.max(0, ...promptLengths);
    return new BatchKVCache(numLayers, promptLengths.map((n) => longest - n));
  }

  get batchSize(): number {
    return this.#lengths.length;
  }

  /** Columns held per row (the longest row plus the padding of the others). */
  get columns(): number {
    return this.#columns;
  }

  /** Valid tokens per row. */
  get lengths(): readonly number[] {
    return this.#lengths;
  }

  /** Valid tokens over all rows. */
  get tokens(): number {
    return this.#lengths.reduce((a, b) => a + b, 0);
  }

  /** Bytes held by keys and values, padding included. */
  get bytes(): number {
    let total = 0;
    for (const a of [...this.#keys, ...this.#values]) if (a) total += a.size * a.itemsize;
    return total;
  }

  /** The arrays to evaluate together with a step's outputs. */
  arrays(): MxArray[] {
    return [...this.#keys, ...this.#values].filter((a): a is MxArray => a !== undefined);
  }

  beginForward(length: number, dtype: Dtype): ForwardStep {
    if (!Number.isInteger(length) || length < 1) throw internal(`invalid input length ${length}`);
    const b = this.batchSize;
    const start = this.#columns;
    const pos = new Int32Array(b * length);
    for (let r = 0; r < b; r++) {
      const pad = Math.min(this.#pendingPad[r], length);
      if (pad > 0 && this.#lengths[r] > 0) throw internal(`row ${r} has padding after its tokens`);
      for (let j = pad; j < length; j++) pos[r * length + j] = this.#lengths[r] + j - pad;
      this.#pendingPad[r] -= pad;
      this.#lengths[r] += length - pad;
    }
    this.#columns = start + length;
    const positions = mx.array(Array.from(pos), mx.int32).reshape([b, length]);
    const needsMask = length > 1 || this.#lengths.some((n) => n < this.#columns);
    return { positions, mask: needsMask ? this.#mask(start, length, dtype) : undefined };
  }

  /** [B, 1, L, S]: query j (column start + j) sees key s when s <= start + j and s is not padding. */
  #mask(start: number, length: number, dtype: Dtype): MxArray {
    const s = this.#columns;
    const b = this.batchSize;
    const cols = mx.arange(0, s, 1, mx.int32).reshape([1, 1, 1, s]);
    const queries = mx.arange(start, start + length, 1, mx.int32).reshape([1, 1, length, 1]);
    const firstValid = mx.array(this.#lengths.map((n) => s - n), mx.int32).reshape([b, 1, 1, 1]);
    const visible = mx.logicalAnd(mx.lessEqual(cols, queries), mx.greaterEqual(cols, firstValid));
    return mx.where(visible, mx.array(0, dtype), mx.array(hiddenValue(dtype), dtype));
  }

  updateAndFetch(layer: number, keys: MxArray, values: MxArray): [MxArray, MxArray] {
    const k = this.#keys[layer];
    const v = this.#values[layer];
    this.#keys[layer] = k ? mx.concatenate([k, keys], 2) : keys;
    this.#values[layer] = v ? mx.concatenate([v, values], 2) : values;
    if (this.#keys[layer]!.shape[2] !== this.#columns) {
      throw internal(`layer ${layer} holds ${this.#keys[layer]!.shape[2]} columns, expected ${this.#columns}`);
    }
    return [this.#keys[layer]!, this.#values[layer]!];
  }

  /** Appends the rows of `other` (e.g. freshly prefilled requests); returns their row indices. */
  insert(other: BatchKVCache): number[] {
    if (other.numLayers !== this.numLayers) {
      throw internal(`cannot merge a ${other.numLayers}-layer cache into a ${this.numLayers}-layer one`);
    }
    const first = this.batchSize;
    const s = Math.max(this.#columns, other.#columns);
    for (let i = 0; i < this.numLayers; i++) {
      this.#keys[i] = mergeRows(this.#keys[i], this.batchSize, other.#keys[i], other.batchSize, s);
      this.#values[i] = mergeRows(this.#values[i], this.batchSize, other.#values[i], other.batchSize, s);
    }
    this.#lengths = [...this.#lengths, ...other.#lengths];
    this.#pendingPad = [...this.#pendingPad, ...other.#pendingPad];
    this.#columns = s;
    return Array.from({ length: other.batchSize }, (_, i) => first + i);
  }

  /** Keeps only these rows, in this order, then compacts. */
  keep(rows: readonly number[]): void {
    for (const r of rows) {
      if (!Number.isInteger(r) || r < 0 || r >= this.batchSize) throw internal(`no row ${r}`);
    }
    if (rows.length === 0) {
      this.#keys.fill(undefined);
      this.#values.fill(undefined);
      this.#columns = 0;
    } else if (rows.length !== this.batchSize || rows.some((r, i) => r !== i)) {
      const idx = mx.array([...rows], mx.int32);
      this.#keys = this.#keys.map((a) => a && mx.take(a, idx, 0));
      this.#values = this.#values.map((a) => a && mx.take(a, idx, 0));
    }
    this.#lengths = rows.map((r) => this.#lengths[r]);
    this.#pendingPad = rows.map((r) => this.#pendingPad[r]);
    this.compact();
  }

  /** Removes these rows; the others keep their order (indices above a removed row shift down). */
  remove(rows: readonly number[]): void {
    const drop = new Set(rows);
    this.keep(this.#lengths.map((_, i) => i).filter((i) => !drop.has(i)));
  }

  /** Drops the leading columns that are padding in every row. */
  compact(): void {
    if (this.#pendingPad.some((p) => p > 0)) return;
    const longest = Math.max(0, ...this.#lengths);
    const drop = this.#columns - longest;
    if (drop <= 0) return;
    const cut = (a: MxArray | undefined) => a && a.index(mx.Slice(), mx.Slice(), mx.Slice(drop, this.#columns));
    this.#keys = this.#keys.map(cut);
    this.#values = this.#values.map(cut);
    this.#columns = longest;
  }

  /** A new B = 1 cache holding the first `tokens` tokens of `row` (prefix reuse); copies the data. */
  extract(row: number, tokens = this.#lengths[row]): BatchKVCache {
    if (!Number.isInteger(row) || row < 0 || row >= this.batchSize) throw internal(`no row ${row}`);
    if (this.#pendingPad[row] > 0) throw internal(`row ${row} is still being prefilled`);
    if (!Number.isInteger(tokens) || tokens < 0 || tokens > this.#lengths[row]) {
      throw internal(`row ${row} holds ${this.#lengths[row]} tokens, cannot extract ${tokens}`);
    }
    const out = new BatchKVCache(this.numLayers);
    if (tokens === 0) return out;
    const first = this.#columns - this.#lengths[row];
    // A slice would share (and keep alive) the whole batch's buffer: multiply by one to copy.
    const copy = (a: MxArray | undefined) =>
      a && mx.multiply(a.index(mx.Slice(row, row + 1), mx.Slice(), mx.Slice(first, first + tokens)), mx.array(1, a.dtype));
    out.#keys = this.#keys.map(copy);
    out.#values = this.#values.map(copy);
    out.#lengths = [tokens];
    out.#columns = tokens;
    return out;
  }
}

/** Rows of a (B_a rows) over rows of b (B_b rows), both right-aligned to `columns`. */
function mergeRows(
  a: MxArray | undefined,
  rowsA: number,
  b: MxArray | undefined,
  rowsB: number,
  columns: number,
): MxArray | undefined {
  const like = a ?? b;
  if (!like) return undefined;
  const [, heads, , dim] = like.shape;
  const align = (x: MxArray | undefined, rows: number): MxArray | undefined => {
    if (rows === 0) return undefined;
    const have = x ? x.shape[2] : 0;
    if (have === columns) return x;
    const pad = mx.zeros([rows, heads, columns - have, dim], like.dtype);
    return x ? mx.concatenate([pad, x], 2) : pad;
  };
  const parts = [align(a, rowsA), align(b, rowsB)].filter((x): x is MxArray => x !== undefined);
  return parts.length === 1 ? parts[0] : mx.concatenate(parts, 0);
}
