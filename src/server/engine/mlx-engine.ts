// The batch engine on node-mlx: implements src/batching's BatchEngine. Each step is ONE
// forward pass over everything the plan holds: the decoding rows (one part, the batch KV cache,
// which owns padding, positions and masks) and each prompt chunk (a part of its own, the
// request's own cache), packed so that every weight is read once per step and only attention
// runs per part. A request whose prompt is complete joins the batch cache at once; one whose
// prompt needs only a few more tokens after a reused prefix joins it before the pass, its last
// tokens fed as a row of the decode rows' part. Prefix reuse hands a new request the keys and
// values of the longest matching recent prompt.
import { MlxBatchError } from '../../shared/errors';
import type { BatchEngine, EngineRequest, EngineStats, RequestId, StepOutput, StepPlan } from '../../batching/engine';
import type { TokenLogprob } from '../../batching/request-types';
import { DEFAULT_CACHE_REUSE } from '../../shared/server-defaults';
import { BatchKVCache } from '../cache/batch-kv-cache';
import { tokenLogprobs, type LogprobAsk } from '../generate/logprobs';
import { RowSampler, verifyBatch, type Verdict } from '../generate/sampler';
import { MemoryReclaimer } from '../memory';
import { memoryMeter, type MemoryMeter } from '../memory-meter';
import { mx, type MxArray } from '../mlx';
import type { ForwardPart, LanguageModel } from '../model/types';
import { PrefixStore } from './prefix-store';

export interface MlxEngineOptions {
  /** Tokens of keys/values the prefix store may hold (0 turns prefix reuse off). */
  prefixCacheTokens: number;
  /** Context length; default: the model's max_position_embeddings. */
  contextLength?: number;
  /** Full gc every this many steps, a minor one at the others (node-mlx frees memory only when wrappers are collected). */
  gcEvery: number;
  /**
   * A pass with prompt chunks (of RECLAIM_FROM_PROMPT_TOKENS or more) is evaluated every this many
   * layers, its intermediates released between (MemoryReclaimer.releaseIntermediates); 0: the
   * pass runs as one graph.
   */
  reclaimEveryLayers: number;
  /** Bytes MLX's buffer cache may keep (freed buffers held for reuse); undefined: MLX's default. */
  bufferCacheBytes?: number;
  /** Where memory figures come from; default: the meter of the device MLX runs on. */
  meter?: MemoryMeter;
  /**
   * After the longest stored prefix, reuse a run of at least this many prompt tokens that a stored
   * prompt holds at another position, its keys moved to their new positions (0: off). Not exact:
   * those keys and values were computed with what preceded them there in view.
   */
  cacheReuseTokens: number;
}

/**
 * A pass with at least this many prompt tokens is evaluated a few layers at a time
 * (`reclaimEveryLayers`). A few prompt tokens beside decode rows leave small intermediates, and
 * evaluating in pieces, each with a collection and a turn of the event loop, made such a step
 * 8-15 ms slower on the 0.5b shape (docs/PERFORMANCE.md).
 */
export const RECLAIM_FROM_PROMPT_TOKENS = 64;

/** Most tokens of a prompt's last chunk that join the decode rows' part as a row (joinsAsTail). */
export const TAIL_TOKENS = 4;

export const DEFAULT_ENGINE_OPTIONS: MlxEngineOptions = { prefixCacheTokens: 16_384, gcEvery: 64, reclaimEveryLayers: 4, cacheReuseTokens: DEFAULT_CACHE_REUSE };

interface Chunk {
  id: RequestId;
  seq: Sequence;
  cache: BatchKVCache;
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
  /** Prompt tokens reused from another position of a stored prompt (cacheReuseTokens). */
  movedTokens = 0;

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
    // At least one prompt token must run, to give the logits of the first output token.
    const last = req.promptTokens.length - 1;
    const match = this.prefixStore.lookup(req.promptTokens);
    const n = match ? Math.min(match.length, last) : 0;
    let cache = match && n > 0 ? match.entry.cache.extract(0, n) : undefined;
    const reuse = this.options.cacheReuseTokens;
    const run = reuse > 0 ? this.prefixStore.findRun(req.promptTokens, n, reuse) : undefined;
    if (run && Math.min(run.length, last - n) >= reuse) {
      const length = Math.min(run.length, last - n);
      const distance = n - run.at;
      const moved = run.entry.cache.extract(0, length, run.at, (keys) => this.model.shiftKeys(keys, distance));
      cache = cache ? cache.append(moved) : moved;
      this.movedTokens += length;
    }
    if (cache && cache.tokens > 0) {
      mx.eval(...cache.arrays());
      seq.cache = cache;
      seq.computed = cache.tokens;
    }
    this.seqs.set(req.id, seq);
    return { cachedTokens: seq.computed };
  }

  async step(plan: StepPlan): Promise<StepOutput> {
    const tokens = new Map<RequestId, number>();
    const accepted = new Map<RequestId, number[]>();
    const decoding = plan.decode.length > 0 ? this.decodeRows(plan.decode) : [];
    // A decode row feeds its last sampled token (the only one whose keys are not cached: rejected
    // drafts are discarded, never fed again) and then its draft; rows are padded at the end to one
    // length, and the padding's columns are discarded with the rejected drafts.
    const feeds = decoding.map((s, i) => {
      const draft = plan.drafts?.get(this.rows[i]) ?? [];
      return { draft, inputs: [s.output[s.output.length - 1], ...draft] };
    });
    const drafted = Math.max(1, ...feeds.map((f) => f.inputs.length));
    const all = plan.prefill.map((c) => this.chunk(c));
    const tails = decoding.length > 0 ? all.filter((c) => this.joinsAsTail(c)) : [];
    const chunks = all.filter((c) => !tails.includes(c));
    // A tail joins the batch now: it is fed as a row of the decode rows' part, and its last token's
    // logits give its first output token. The prefix store keeps the prompt it had before.
    for (const t of tails) {
      if (this.prefixStore.capacityTokens > 0) this.prefixStore.insert(t.seq.prompt.slice(0, t.start), t.cache);
      t.seq.cache = undefined;
      this.rows.push(t.id);
    }
    if (tails.length > 0) this.batch.insert(...tails.map((t) => t.cache));
    const width = Math.max(drafted, ...tails.map((t) => t.end - t.start));
    const parts: ForwardPart[] = [];
    // Packed token indices whose logits are read: each decode row's inputs, each tail's last token,
    // then the last token of each chunk that completes its prompt.
    const pick: number[] = [];
    if (decoding.length > 0) {
      const rows = [...feeds.map((f) => f.inputs), ...tails.map((t) => t.seq.prompt.slice(t.start, t.end))];
      const inputs = rows.flatMap((r) => [...r, ...new Array<number>(width - r.length).fill(r[r.length - 1])]);
      parts.push({ inputs: mx.array(inputs, mx.int32).reshape([rows.length, width]), cache: this.batch });
      feeds.forEach((f, i) => {
        for (let j = 0; j < f.inputs.length; j++) pick.push(i * width + j);
      });
      tails.forEach((t, i) => pick.push((decoding.length + i) * width + t.end - t.start - 1));
    }
    let at = (decoding.length + tails.length) * width;
    const done: Chunk[] = [];
    for (const c of chunks) {
      parts.push({ inputs: mx.array(c.seq.prompt.slice(c.start, c.end), mx.int32).reshape([1, c.end - c.start]), cache: c.cache });
      at += c.end - c.start;
      if (c.end === c.seq.prompt.length) {
        done.push(c);
        pick.push(at - 1);
      }
    }
    if (parts.length === 0) return { tokens };
    const caches = parts.map((p) => p.cache as BatchKVCache);
    const promptTokens = chunks.reduce((n, c) => n + c.end - c.start, 0);
    const logits = await this.forward(parts, caches, promptTokens >= RECLAIM_FROM_PROMPT_TOKENS, pick);
    let verdicts: Verdict[] = [];
    const logprobs = new Map<RequestId, TokenLogprob[]>();
    if (pick.length > 0) {
      // Reading the tokens evaluates the whole pass (every part feeds the packed products).
      const rows = logits.reshape([logits.shape[0], -1]);
      const checked = [
        ...decoding.map((s, i) => ({ id: this.rows[i], seq: s, draft: feeds[i].draft })),
        ...[...tails, ...done].map((c) => ({ id: c.id, seq: c.seq, draft: [] as readonly number[] })),
      ];
      verdicts = verifyBatch(rows, checked.map((c) => ({ sampler: c.seq.sampler, draft: c.draft, history: { prompt: c.seq.prompt, output: c.seq.output } })));
      // Rows that ask for logprobs: one per emitted token (accepted drafts, then the model's own),
      // from the logits row that produced it.
      const asks: LogprobAsk[] = [];
      const owners: RequestId[] = [];
      let first = 0;
      checked.forEach((c, i) => {
        const top = c.seq.sampler.params.logprobs;
        if (top !== undefined) {
          const { accepted: n, token } = verdicts[i];
          [...c.draft.slice(0, n), token].forEach((t, j) => {
            asks.push({ position: first + j, token: t, top });
            owners.push(c.id);
          });
        }
        first += c.draft.length + 1;
      });
      tokenLogprobs(rows, asks).forEach((lp, i) => {
        const list = logprobs.get(owners[i]) ?? [];
        list.push(lp);
        logprobs.set(owners[i], list);
      });
    } else {
      mx.eval(...caches.flatMap((c) => c.arrays()));
    }
    this.meter.sample();
    if (decoding.length > 0) {
      // Every row wrote `width` columns: its last token and accepted drafts stay, its rejected
      // drafts and padding become dead columns of that row.
      decoding.forEach((s, i) => {
        const { accepted: n, token } = verdicts[i];
        const kept = feeds[i].draft.slice(0, n);
        this.batch.discard(i, width - 1 - n);
        s.computed += 1 + n;
        s.output.push(...kept, token);
        if (feeds[i].draft.length > 0) accepted.set(this.rows[i], kept);
        tokens.set(this.rows[i], token);
      });
      tails.forEach((t, i) => {
        const { token } = verdicts[decoding.length + i];
        this.batch.discard(decoding.length + i, width - (t.end - t.start));
        t.seq.computed = t.end;
        t.seq.output.push(token);
        tokens.set(t.id, token);
      });
      this.batch.squeezeIfSparse();
    }
    for (const c of chunks) c.seq.computed = c.end;
    done.forEach((c, i) => {
      const token = verdicts[decoding.length + tails.length + i].token;
      c.seq.output.push(token);
      tokens.set(c.id, token);
      if (this.prefixStore.capacityTokens > 0) this.prefixStore.insert(c.seq.prompt, c.cache);
      c.seq.cache = undefined;
      this.rows.push(c.id);
    });
    if (done.length > 0) this.batch.insert(...done.map((c) => c.cache));
    await this.reclaim.step();
    return { tokens, ...(accepted.size > 0 ? { accepted } : {}), ...(logprobs.size > 0 ? { logprobs } : {}) };
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

  /** The decode rows' sequences, in row order; the plan must name exactly the batch's rows. */
  private decodeRows(ids: RequestId[]): Sequence[] {
    if (ids.length !== this.rows.length || ids.some((id) => !this.rows.includes(id))) {
      throw new MlxBatchError('internal', `engine: decode plan [${ids.join(', ')}] does not match the batch rows [${this.rows.join(', ')}]`);
    }
    return this.rows.map((id) => this.seq(id));
  }

  /**
   * A chunk that ends its prompt, of a request whose earlier tokens are cached (a reused prefix),
   * runs as a row of the decode rows' part instead of a part of its own: a step of decode rows
   * and one such part costs about twice a decode step (another part's attention and graph, and
   * no compiled pass), a row of the part little more than a decode row. Most such chunks are one
   * token (a keystroke's completion whose prompt the prefix store holds but for its last token).
   * At most TAIL_TOKENS, since every row is padded to the longest (the scheduler plans no drafts
   * in a step with prompt chunks, so the decode rows are one token wide).
   */
  private joinsAsTail(c: Chunk): boolean {
    return c.end === c.seq.prompt.length && c.start > 0 && c.cache.tokens === c.start && c.end - c.start <= TAIL_TOKENS;
  }

  private chunk({ id, start, end }: StepPlan['prefill'][number]): Chunk {
    const seq = this.seq(id);
    if (start !== seq.computed || end <= start || end > seq.prompt.length) {
      throw new MlxBatchError('internal', `engine: chunk [${start}, ${end}) of ${id} does not follow its ${seq.computed} computed tokens`);
    }
    seq.cache ??= new BatchKVCache(this.model.args.numHiddenLayers);
    return { id, seq, cache: seq.cache, start, end };
  }

  /**
   * The step's pass; the logits of the picked tokens (or of the last token of every row of every part, when
   * nothing samples). A pass with prompt
   * chunks is evaluated every `reclaimEveryLayers` layers with its intermediates released between.
   */
  private async forward(parts: ForwardPart[], caches: BatchKVCache[], reclaiming: boolean, pick: readonly number[]): Promise<MxArray> {
    const every = reclaiming ? this.options.reclaimEveryLayers : 0;
    const steps = this.model.forwardSteps(parts, pick.length > 0 ? { pick } : { lastOnly: true });
    for (let layer = 1; ; layer++) {
      const r = steps.next();
      if (r.done) return r.value;
      if (every > 0 && layer % every === 0) {
        mx.eval(r.value, ...caches.flatMap((c) => c.arrays()));
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
