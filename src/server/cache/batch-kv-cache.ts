// One KV cache for B rows (B = 1 is the single-sequence case), after mlx-lm's BatchKVCache:
// rows are right-aligned (left padding), each row has its own length and positions, and the
// cache builds the mask. The batch engine merges rows in, removes them and compacts.
// Speculative decoding writes the same number of columns to every row and then discards each
// row's rejected draft tokens: those columns stay as dead columns of that row (hidden by the mask,
// skipped when the row is extracted) and no row ever has to be recomputed or moved.
//
// Storage: per layer one preallocated [B, kvHeads, capacity, headDim] buffer, written in place
// with indexPut_ and handed to attention whole (columns past the end are masked). Measured here
// (24 layers, B 8, 2 kv heads, head 64, decode step incl. attention, loaded 2-core host):
// concatenate 958 ms/step from 256 columns; indexPut_ + slice view 94 ms but 806 MB RSS (each
// step copied the buffer because the views kept it alive); indexPut_ + whole buffer 79 ms and
// 163 MB flat (updated in place). Without attention, from 1024 columns: concatenate 2877 ms,
// indexPut_ 102 ms.
import { mx, type Dtype, type MxArray } from '../mlx';
import { MlxBatchError } from '../../shared/errors';
import type { ForwardStep, KVCache } from './types';

/** Large negative that stays finite in the compute dtype (a fully hidden row must not give NaN). */
function hiddenValue(dtype: Dtype): number {
  return dtype === mx.float16 ? -3e4 : -1e9;
}

/** Capacity grows in steps of this many columns. */
const CAPACITY_STEP = 64;

const roundUp = (n: number) => Math.ceil(n / CAPACITY_STEP) * CAPACITY_STEP;

function internal(message: string): MlxBatchError {
  return new MlxBatchError('internal', `KV cache: ${message}`);
}

export class BatchKVCache implements KVCache {
  #keys: (MxArray | undefined)[];
  #values: (MxArray | undefined)[];
  /** Valid tokens per row (dead columns not counted): the next token's position. */
  #lengths: number[];
  /** Columns per row from its first token to the end: row b holds [columns - spans[b], columns). */
  #spans: number[];
  /** Per row, the dead columns (discarded tokens), as offsets from the row's first column, ascending. */
  #dead: number[][];
  /** The [B, 1, 1, capacity] mask of live columns, kept while dead columns, capacity and rows stay put. */
  #live?: { key: string; mask: MxArray };
  /** Bumped whenever any row's dead columns change. */
  #deadVersion = 0;
  /** Input columns still to come that are left padding for the row (batched prefill). */
  #pendingPad: number[];
  #columns = 0;
  /** Columns allocated per row (>= columns); every layer's buffer has this many. */
  #capacity = 0;

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
    this.#spans = leftPadding.map(() => 0);
    this.#dead = leftPadding.map(() => []);
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

  /** Columns allocated per row. */
  get capacity(): number {
    return this.#capacity;
  }

  /** Bytes held by keys and values, padding and spare capacity included. */
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
      this.#spans[r] += length - pad;
    }
    this.#columns = start + length;
    if (this.#columns > this.#capacity) this.#capacity = roundUp(this.#columns);
    const positions = mx.array(Array.from(pos), mx.int32).reshape([b, length]);
    const needsMask = length > 1 || this.#capacity > this.#columns || this.#spans.some((n) => n < this.#columns) || this.#dead.some((d) => d.length > 0);
    return { positions, mask: needsMask ? this.#mask(start, length, dtype) : undefined };
  }

  /** [B, 1, L, capacity]: query j (column start + j) sees key s when s <= start + j and s is not padding. */
  #mask(start: number, length: number, dtype: Dtype): MxArray {
    const s = this.#columns;
    const b = this.batchSize;
    const cols = mx.arange(0, this.#capacity, 1, mx.int32).reshape([1, 1, 1, this.#capacity]);
    const queries = mx.arange(start, start + length, 1, mx.int32).reshape([1, 1, length, 1]);
    const firstValid = mx.array(this.#spans.map((n) => s - n), mx.int32).reshape([b, 1, 1, 1]);
    let visible = mx.logicalAnd(mx.lessEqual(cols, queries), mx.greaterEqual(cols, firstValid));
    if (this.#dead.some((d) => d.length > 0)) visible = mx.logicalAnd(visible, this.#liveMask());
    return mx.where(visible, mx.array(0, dtype), mx.array(hiddenValue(dtype), dtype));
  }

  /**
   * Which columns are not dead, per row. A decode step moves neither the rows' first columns nor
   * their dead columns, so the array is built again only when they or the capacity change.
   */
  #liveMask(): MxArray {
    const b = this.batchSize;
    const firsts = this.#spans.map((n) => this.#columns - n);
    const key = `${this.#deadVersion}|${this.#capacity}|${firsts.join(',')}`;
    if (this.#live?.key === key) return this.#live.mask;
    const live = new Uint8Array(b * this.#capacity).fill(1);
    this.#dead.forEach((dead, r) => {
      for (const off of dead) live[r * this.#capacity + firsts[r] + off] = 0;
    });
    const mask = mx.array(Array.from(live), mx.bool_).reshape([b, 1, 1, this.#capacity]);
    this.#live = { key, mask };
    return mask;
  }

  updateAndFetch(layer: number, keys: MxArray, values: MxArray): [MxArray, MxArray] {
    const length = keys.shape[2];
    const at = [mx.Slice(), mx.Slice(), mx.Slice(this.#columns - length, this.#columns)];
    const k = this.#reserve(this.#keys[layer], keys);
    const v = this.#reserve(this.#values[layer], values);
    k.indexPut_(at, keys);
    v.indexPut_(at, values);
    this.#keys[layer] = k;
    this.#values[layer] = v;
    return [k, v];
  }

  /** The layer's buffer with room for `capacity` columns (a larger copy when it has less). */
  #reserve(buffer: MxArray | undefined, like: MxArray): MxArray {
    if (buffer && buffer.shape[2] === this.#capacity) return buffer;
    const [, heads, , dim] = like.shape;
    const grown = mx.zeros([this.batchSize, heads, this.#capacity, dim], like.dtype);
    if (buffer) grown.indexPut_([mx.Slice(), mx.Slice(), mx.Slice(0, buffer.shape[2])], buffer);
    return grown;
  }

  /**
   * Discards the last `n` tokens written to `row` (draft tokens the model rejected): their
   * columns become dead columns of the row, hidden from attention from now on, and the row's
   * next token takes the position after its last kept one.
   */
  discard(row: number, n: number): void {
    if (n === 0) return;
    if (!Number.isInteger(row) || row < 0 || row >= this.batchSize) throw internal(`no row ${row}`);
    const dead = this.#dead[row];
    const live = this.#spans[row] - dead.length;
    if (!Number.isInteger(n) || n < 0 || n > live) throw internal(`cannot discard ${n} of row ${row}'s ${live} tokens`);
    const deadSet = new Set(dead);
    let left = n;
    for (let off = this.#spans[row] - 1; left > 0; off--) {
      if (deadSet.has(off)) continue;
      deadSet.add(off);
      left--;
    }
    this.#dead[row] = [...deadSet].sort((a, b) => a - b);
    this.#deadVersion++;
    this.#lengths[row] -= n;
  }

  /** Appends the rows of `others` in order (e.g. freshly prefilled requests); returns their row indices. */
  insert(...others: BatchKVCache[]): number[] {
    for (const other of others) {
      if (other.numLayers !== this.numLayers) {
        throw internal(`cannot merge a ${other.numLayers}-layer cache into a ${this.numLayers}-layer one`);
      }
    }
    const first = this.batchSize;
    const all: BatchKVCache[] = [this, ...others];
    const s = Math.max(...all.map((c) => c.#columns));
    const capacity = roundUp(s);
    const merge = (pick: (c: BatchKVCache) => MxArray | undefined) =>
      placeRows(all.map((c) => [pick(c), c.batchSize, c.#columns]), s, capacity);
    this.#keys = this.#keys.map((_, i) => merge((c) => c.#keys[i]));
    this.#values = this.#values.map((_, i) => merge((c) => c.#values[i]));
    this.#capacity = capacity;
    this.#lengths = all.flatMap((c) => c.#lengths);
    this.#spans = all.flatMap((c) => c.#spans);
    this.#dead = all.flatMap((c) => c.#dead);
    this.#deadVersion++;
    this.#pendingPad = all.flatMap((c) => c.#pendingPad);
    this.#columns = s;
    return Array.from({ length: this.batchSize - first }, (_, i) => first + i);
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
      this.#capacity = 0;
    } else if (rows.length !== this.batchSize || rows.some((r, i) => r !== i)) {
      const idx = mx.array([...rows], mx.int32);
      this.#keys = this.#keys.map((a) => a && mx.take(a, idx, 0));
      this.#values = this.#values.map((a) => a && mx.take(a, idx, 0));
    }
    this.#lengths = rows.map((r) => this.#lengths[r]);
    this.#spans = rows.map((r) => this.#spans[r]);
    this.#dead = rows.map((r) => this.#dead[r]);
    this.#deadVersion++;
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
    const longest = Math.max(0, ...this.#spans);
    const drop = this.#columns - longest;
    if (drop <= 0) return;
    const kept = longest;
    const capacity = roundUp(kept);
    const cut = (a: MxArray | undefined) =>
      a && placeRows([[a.index(mx.Slice(), mx.Slice(), mx.Slice(drop, this.#columns)), this.batchSize, kept]], kept, capacity);
    this.#keys = this.#keys.map(cut);
    this.#values = this.#values.map(cut);
    this.#columns = kept;
    this.#capacity = capacity;
  }

  /**
   * A new B = 1 cache holding `tokens` tokens of `row` from its token `from` on (prefix reuse takes
   * the first ones); copies the data. `moveKeys` (a run taken from another position) turns each
   * layer's keys into the keys of the positions they will have (RoPE: rotating by the distance).
   */
  extract(row: number, tokens = this.#lengths[row], from = 0, moveKeys?: (keys: MxArray) => MxArray): BatchKVCache {
    if (!Number.isInteger(row) || row < 0 || row >= this.batchSize) throw internal(`no row ${row}`);
    if (this.#pendingPad[row] > 0) throw internal(`row ${row} is still being prefilled`);
    if (!Number.isInteger(tokens) || !Number.isInteger(from) || tokens < 0 || from < 0 || from + tokens > this.#lengths[row]) {
      throw internal(`row ${row} holds ${this.#lengths[row]} tokens, cannot extract ${tokens} from ${from}`);
    }
    const out = new BatchKVCache(this.numLayers);
    if (tokens === 0) return out;
    const first = this.#columns - this.#spans[row];
    const live = this.#liveColumns(row).slice(from, from + tokens);
    const contiguous = live[tokens - 1] - live[0] === tokens - 1;
    const idx = contiguous ? undefined : mx.array(live.map((c) => first + c), mx.int32);
    const start = first + live[0];
    // Copied into a buffer of its own: a slice would keep the whole batch's buffer alive.
    const copy = (a: MxArray | undefined, move?: (keys: MxArray) => MxArray) => {
      if (!a) return a;
      const rowData = a.index(mx.Slice(row, row + 1));
      const cols = idx ? mx.take(rowData, idx, 2) : rowData.index(mx.Slice(), mx.Slice(), mx.Slice(start, start + tokens));
      return placeRows([[move ? move(cols).astype(a.dtype) : cols, 1, tokens]], tokens, roundUp(tokens));
    };
    out.#keys = this.#keys.map((k) => copy(k, moveKeys));
    out.#values = this.#values.map((v) => copy(v));
    out.#lengths = [tokens];
    out.#spans = [tokens];
    out.#columns = tokens;
    out.#capacity = roundUp(tokens);
    return out;
  }

  /** A new B = 1 cache: this one's tokens (B = 1, no dead columns), then `next`'s; copies the data. */
  append(next: BatchKVCache): BatchKVCache {
    if (this.batchSize !== 1 || next.batchSize !== 1 || this.deadColumns > 0 || next.deadColumns > 0) throw internal('append joins single-row caches without dead columns');
    const a = this.#lengths[0];
    const b = next.#lengths[0];
    const out = new BatchKVCache(this.numLayers);
    const total = a + b;
    const join = (x: MxArray | undefined, y: MxArray | undefined) => {
      const parts = [x && a > 0 ? x.index(mx.Slice(), mx.Slice(), mx.Slice(this.#columns - a, this.#columns)) : undefined,
        y && b > 0 ? y.index(mx.Slice(), mx.Slice(), mx.Slice(next.#columns - b, next.#columns)) : undefined].filter((p): p is MxArray => p !== undefined);
      if (parts.length === 0) return undefined;
      return placeRows([[parts.length === 1 ? parts[0] : mx.concatenate(parts, 2), 1, total]], total, roundUp(total));
    };
    out.#keys = this.#keys.map((k, i) => join(k, next.#keys[i]));
    out.#values = this.#values.map((v, i) => join(v, next.#values[i]));
    out.#lengths = [total];
    out.#spans = [total];
    out.#columns = total;
    out.#capacity = roundUp(total);
    return out;
  }

  /** Dead columns over all rows. */
  get deadColumns(): number {
    return this.#dead.reduce((n, d) => n + d.length, 0);
  }

  /**
   * Rebuilds the buffers without dead columns once they are at least a quarter of the columns
   * held (attention reads them all, masked); returns whether it did.
   */
  squeezeIfSparse(): boolean {
    const dead = this.deadColumns;
    if (dead === 0 || 4 * dead < this.#spans.reduce((a, b) => a + b, 0) || this.#pendingPad.some((p) => p > 0)) return false;
    const width = Math.max(...this.#lengths);
    const capacity = roundUp(width);
    const indices = this.#lengths.map((_, r) => {
      const first = this.#columns - this.#spans[r];
      return mx.array(this.#liveColumns(r).map((c) => first + c), mx.int32);
    });
    const squeeze = (a: MxArray | undefined) =>
      a && placeRows(this.#lengths.map((n, r) => [n > 0 ? mx.take(a.index(mx.Slice(r, r + 1)), indices[r], 2) : undefined, 1, n]), width, capacity);
    this.#keys = this.#keys.map(squeeze);
    this.#values = this.#values.map(squeeze);
    this.#spans = [...this.#lengths];
    this.#dead = this.#lengths.map(() => []);
    this.#deadVersion++;
    this.#columns = width;
    this.#capacity = capacity;
    return true;
  }

  /** Offsets from row's first column of its live (not discarded) columns, ascending. */
  #liveColumns(row: number): number[] {
    const dead = new Set(this.#dead[row]);
    const out: number[] = [];
    for (let c = 0; c < this.#spans[row]; c++) if (!dead.has(c)) out.push(c);
    return out;
  }

}

/**
 * A new [sum rows, heads, capacity, dim] buffer holding each part's first `columns` columns
 * right-aligned to column `end`, the parts' rows one after another; undefined with no data.
 */
function placeRows(
  parts: [MxArray | undefined, rows: number, columns: number][],
  end: number,
  capacity: number,
): MxArray | undefined {
  const like = parts.find(([a]) => a)?.[0];
  if (!like) return undefined;
  const [, heads, , dim] = like.shape;
  const total = parts.reduce((n, [, rows]) => n + rows, 0);
  const out = mx.zeros([total, heads, capacity, dim], like.dtype);
  let row = 0;
  for (const [a, rows, columns] of parts) {
    if (a && rows > 0 && columns > 0) {
      const src = a.shape[2] === columns ? a : a.index(mx.Slice(), mx.Slice(), mx.Slice(0, columns));
      out.indexPut_([mx.Slice(row, row + rows), mx.Slice(), mx.Slice(end - columns, end)], src);
    }
    row += rows;
  }
  return out;
}
