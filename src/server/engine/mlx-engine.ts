// The batch engine on node-mlx: implements src/batching's BatchEngine. Each step runs ONE
// forward pass over every decoding row (the batch KV cache owns padding, positions and
// masks), then the step's prompt chunks, grouped into left-padded batched passes
// (prefill-groups.ts); a request whose prompt is complete joins the batch cache at once.
// Prefix reuse hands a new request the keys and values of the longest matching recent prompt.
import { MlxBatchError } from '../../shared/errors';
import type { BatchEngine, EngineRequest, EngineStats, RequestId, StepOutput, StepPlan } from '../../batching/engine';
import { BatchKVCache } from '../cache/batch-kv-cache';
import { RowSampler, sampleBatch } from '../generate/sampler';
import { MemoryReclaimer } from '../memory';
import { memoryMeter, type MemoryMeter } from '../memory-meter';
import { mx, type MxArray } from '../mlx';
import type { LanguageModel } from '../model/types';
import { groupPrefills } from './prefill-groups';
import { PrefixStore } from './prefix-store';

export interface MlxEngineOptions {
  /** Tokens of keys/values the prefix store may hold (0 turns prefix reuse off). */
  prefixCacheTokens: number;
  /** Context length; default: the model's max_position_embeddings. */
  contextLength?: number;
  /** Full gc every this many steps (node-mlx frees memory only when wrappers are collected). */
  gcEvery: number;
  /**
   * Fixed cost of one forward pass, in prompt tokens (reading every weight once): prompt chunks
   * of a step share a left-padded pass when that saves more than the padding costs. 0: every
   * chunk of a different length runs alone.
   */
  passOverheadTokens: number;
  /**
   * A prompt pass is evaluated every this many layers, its intermediates released between
   * (MemoryReclaimer.releaseIntermediates); 0: the pass runs as one graph.
   */
  reclaimEveryLayers: number;
  /** Bytes MLX's buffer cache may keep (freed buffers held for reuse); undefined: MLX's default. */
  bufferCacheBytes?: number;
  /** Where memory figures come from; default: the meter of the device MLX runs on. */
  meter?: MemoryMeter;
}

export const DEFAULT_ENGINE_OPTIONS: MlxEngineOptions = { prefixCacheTokens: 16_384, gcEvery: 8, passOverheadTokens: 16, reclaimEveryLayers: 4 };

interface Chunk {
  id: RequestId;
  seq: Sequence;
  start: number;
  end: number;
}

/** One admitted request. `cache` is its own until its prompt is done; then it is a batch row. */
interface Sequence {
  prompt: readonly number[];
  sampler: RowSampler;
  cache?: BatchKVCache;
  /** Tokens whose keys and values are computed. */
  computed: number;
  /** Sampled tokens; the last is the next decode input (its keys/values are not computed yet). */
  output: number[];
}

export class MlxEngine implements BatchEngine {
  readonly contextLength: number;
  readonly options: MlxEngineOptions;
  readonly prefixStore: PrefixStore<BatchKVCache>;
  private readonly seqs = new Map<RequestId, Sequence>();
  /** The decoding rows: rows[i] is row i of `batch`. */
  private rows: RequestId[] = [];
  private batch: BatchKVCache;
  private readonly reclaim: MemoryReclaimer;
  private readonly meter: MemoryMeter;

  constructor(readonly model: LanguageModel, options: Partial<MlxEngineOptions> = {}) {
    this.options = { ...DEFAULT_ENGINE_OPTIONS, ...options };
    this.contextLength = this.options.contextLength ?? model.args.maxPositionEmbeddings;
    this.prefixStore = new PrefixStore(this.options.prefixCacheTokens);
    this.batch = new BatchKVCache(model.args.numHiddenLayers, []);
    this.reclaim = new MemoryReclaimer(this.options.gcEvery);
    this.meter = this.options.meter ?? memoryMeter();
    if (this.options.bufferCacheBytes !== undefined) this.meter.boundBufferCache(this.options.bufferCacheBytes);
  }

  add(req: EngineRequest): { cachedTokens: number } {
    if (this.seqs.has(req.id)) throw new MlxBatchError('internal', `engine: request ${req.id} added twice`);
    const seq: Sequence = { prompt: req.promptTokens, sampler: new RowSampler(req.sampling), computed: 0, output: [] };
    const match = this.prefixStore.lookup(req.promptTokens);
    if (match) {
      // At least one prompt token must run, to give the logits of the first output token.
      const n = Math.min(match.length, req.promptTokens.length - 1);
      if (n > 0) {
        seq.cache = match.entry.cache.extract(0, n);
        mx.eval(...seq.cache.arrays());
        seq.computed = n;
      }
    }
    this.seqs.set(req.id, seq);
    return { cachedTokens: seq.computed };
  }

  async step(plan: StepPlan): Promise<StepOutput> {
    const tokens = new Map<RequestId, number>();
    if (plan.decode.length > 0) this.decode(plan.decode, tokens);
    if (plan.prefill.length > 0) await this.prefill(plan.prefill, tokens);
    await this.reclaim.step();
    return { tokens };
  }

  release(id: RequestId): void {
    const seq = this.seqs.get(id);
    if (!seq) return;
    this.seqs.delete(id);
    const row = this.rows.indexOf(id);
    if (row >= 0) {
      // Keep what this conversation computed (prompt + output but the last token) for reuse.
      const held = this.batch.lengths[row];
      if (this.prefixStore.capacityTokens > 0 && held >= this.prefixStore.minTokens) {
        const kept = this.batch.extract(row, held);
        mx.eval(...kept.arrays());
        this.prefixStore.insert([...seq.prompt, ...seq.output].slice(0, held), kept);
      }
      this.batch.remove([row]);
      this.rows.splice(row, 1);
    }
    this.reclaim.collect();
    // Idle: nothing will reuse the buffers MLX cached, so give them back.
    if (this.seqs.size === 0) this.meter.releaseBufferCache();
  }

  stats(): EngineStats {
    let prefilling = 0;
    for (const s of this.seqs.values()) prefilling += s.cache?.tokens ?? 0;
    return {
      memoryBytes: this.meter.inUse(),
      peakMemoryBytes: this.meter.peak(),
      cacheTokens: this.batch.tokens + prefilling,
      prefixStoreTokens: this.prefixStore.tokens,
    };
  }

  resetPeakMemory(): void {
    this.meter.resetPeak();
  }

  /** Number of decoding rows in the batch cache. */
  get batchSize(): number {
    return this.rows.length;
  }

  private decode(ids: RequestId[], out: Map<RequestId, number>): void {
    if (ids.length !== this.rows.length || ids.some((id) => !this.rows.includes(id))) {
      throw new MlxBatchError('internal', `engine: decode plan [${ids.join(', ')}] does not match the batch rows [${this.rows.join(', ')}]`);
    }
    const seqs = this.rows.map((id) => this.seq(id));
    const inputs = mx.array(seqs.map((s) => s.output[s.output.length - 1]), mx.int32).reshape([seqs.length, 1]);
    const logits = this.model.forward(inputs, this.batch);
    const next = sampleBatch(logits.reshape([seqs.length, -1]), seqs.map((s) => s.sampler));
    this.meter.sample();
    this.rows.forEach((id, i) => {
      const s = seqs[i];
      s.computed += 1;
      s.output.push(next[i]);
      out.set(id, next[i]);
    });
  }

  private async prefill(plan: StepPlan['prefill'], out: Map<RequestId, number>): Promise<void> {
    const chunks: Chunk[] = plan.map(({ id, start, end }) => {
      const seq = this.seq(id);
      if (start !== seq.computed || end <= start || end > seq.prompt.length) {
        throw new MlxBatchError('internal', `engine: chunk [${start}, ${end}) of ${id} does not follow its ${seq.computed} computed tokens`);
      }
      return { id, seq, start, end };
    });
    const items = chunks.map((c) => ({ length: c.end - c.start, fresh: c.seq.computed === 0 }));
    for (const group of groupPrefills(items, this.options.passOverheadTokens)) {
      await this.prefillPass(group.map((i) => chunks[i]), out);
    }
  }

  /** One forward pass over these chunks, left-padded to the longest (only fresh rows get padding). */
  private async prefillPass(chunks: Chunk[], out: Map<RequestId, number>): Promise<void> {
    const layers = this.model.args.numHiddenLayers;
    const width = Math.max(...chunks.map((c) => c.end - c.start));
    let cache: BatchKVCache;
    if (chunks.length === 1) {
      cache = chunks[0].seq.cache ??= new BatchKVCache(layers);
    } else {
      // Rows in chunk order; a fresh row starts empty with its padding still to come.
      cache = new BatchKVCache(layers, []);
      for (const c of chunks) cache.insert(c.seq.cache ?? new BatchKVCache(layers, [width - (c.end - c.start)]));
    }
    const ids = chunks.flatMap((c) => [...new Array<number>(width - (c.end - c.start)).fill(0), ...c.seq.prompt.slice(c.start, c.end)]);
    const logits = await this.forwardReclaiming(mx.array(ids, mx.int32).reshape([chunks.length, width]), cache);
    const done: number[] = [];
    chunks.forEach((c, row) => {
      c.seq.computed = c.end;
      if (c.end === c.seq.prompt.length) done.push(row);
    });
    if (done.length === 0) {
      mx.eval(...cache.arrays());
      this.meter.sample();
      if (chunks.length > 1) chunks.forEach((c, row) => (c.seq.cache = cache.extract(row)));
      return;
    }
    const rows = logits.reshape([chunks.length, -1]);
    const picked = done.length === chunks.length ? rows : mx.take(rows, mx.array(done, mx.int32), 0);
    const next = sampleBatch(picked, done.map((row) => chunks[row].seq.sampler));
    mx.eval(...cache.arrays());
    this.meter.sample();
    const finished = new Set(done);
    chunks.forEach((c, row) => {
      if (finished.has(row)) {
        const token = next[done.indexOf(row)];
        c.seq.output.push(token);
        out.set(c.id, token);
        if (this.prefixStore.capacityTokens > 0) this.prefixStore.insert(c.seq.prompt, chunks.length === 1 ? cache : cache.extract(row));
        c.seq.cache = undefined;
        this.rows.push(c.id);
      } else {
        c.seq.cache = cache.extract(row);
      }
    });
    if (done.length < chunks.length) cache.keep(done);
    this.batch.insert(cache);
  }

  /** A prompt pass, evaluated every `reclaimEveryLayers` layers with its intermediates released between. */
  private async forwardReclaiming(inputs: MxArray, cache: BatchKVCache): Promise<MxArray> {
    const every = this.options.reclaimEveryLayers;
    const steps = this.model.forwardSteps(inputs, cache, { lastOnly: true });
    for (let layer = 1; ; layer++) {
      const r = steps.next();
      if (r.done) return r.value;
      if (every > 0 && layer % every === 0) {
        mx.eval(r.value, ...cache.arrays());
        this.meter.sample();
        await this.reclaim.releaseIntermediates();
      }
    }
  }

  private seq(id: RequestId): Sequence {
    const s = this.seqs.get(id);
    if (!s) throw new MlxBatchError('internal', `engine: unknown request ${id}`);
    return s;
  }
}
