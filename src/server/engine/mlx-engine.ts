// The batch engine on node-mlx: implements src/batching's BatchEngine. Each step is ONE
// forward pass over everything the plan holds: the batch's rows (one part, the batch KV cache,
// which owns padding, positions and masks) and each large prompt chunk (a part of its own, the
// request's own cache), packed so that every weight is read once per step and only attention
// runs per part. The batch's rows are the decoding requests and the prompt rows: requests whose
// prompt chunks are small enough to ride in the batch's part (placeChunks). A request whose
// prompt is complete joins the batch cache at once. Prefix reuse hands a new request the keys
// and values of the longest matching recent prompt.
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
import { COMPILED_PASS_TOKENS } from '../model/llama';
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
  /** Padding tokens a prompt chunk may add to the batch's part to ride in it as a row; default: promptRowPadding(). */
  promptRowPadding?: number;
}

/**
 * How many padding tokens a prompt chunk may add to the batch's part to ride in it as rows
 * rather than run as a part of its own, for a model of this hidden size. A part of its own costs
 * a fixed amount per layer (its attention, a graph built operation by operation, no compiled
 * pass); a padding token costs the model's arithmetic per token, which grows with the square of
 * the hidden size. Measured break-even: about 32 tokens for the shipped model (hidden size 192:
 * a part 6-10 ms, a token 0.2-0.3 ms) and about 1 for the 0.5b shape (896: a part about 20 ms, a
 * token 8-25 ms), hence 32 x (192 / hidden)^2 (docs/PERFORMANCE.md).
 */
export function promptRowPadding(hiddenSize: number): number {
  return Math.floor(32 * (192 / hiddenSize) ** 2);
}

/**
 * A pass with at least this many prompt tokens is evaluated a few layers at a time
 * (`reclaimEveryLayers`). A few prompt tokens beside decode rows leave small intermediates, and
 * evaluating in pieces, each with a collection and a turn of the event loop, made such a step
 * 8-15 ms slower on the 0.5b shape (docs/PERFORMANCE.md).
 */
export const RECLAIM_FROM_PROMPT_TOKENS = 64;

/**
 * A leaving request's keys and values are copied into the prefix store only when at least this
 * share of them is not held there already. An inline completion's prompt was stored when it was
 * computed and its output is a few tokens: copying every token it holds could save at most the
 * prefill of those few (with a fill-in-the-middle prompt in PSM order, nothing: the next
 * keystroke's prompt differs before them). Such copies took 4 of 60 s in the editor scenario's
 * profile. A chat's answer, a third of what it holds or more, is still kept.
 */
export const RELEASE_STORE_NEW = 1 / 8;

/**
 * An engine idle this long hands back the memory malloc keeps for reuse (on the CPU,
 * src/shared/malloc-tunables.ts). Handed back at every idle moment, each keystroke's completion
 * would fault its pages in afresh.
 */
export const KEPT_MEMORY_IDLE_MS = 2_000;

export const DEFAULT_ENGINE_OPTIONS: MlxEngineOptions = { prefixCacheTokens: 16_384, gcEvery: 64, reclaimEveryLayers: 4, cacheReuseTokens: DEFAULT_CACHE_REUSE };

interface Chunk {
  id: RequestId;
  seq: Sequence;
  /** The request's own cache; none for a prompt row of the batch. */
  cache?: BatchKVCache;
  start: number;
  end: number;
}

/** What one batch row is fed this step. */
interface RowFeed {
  id: RequestId;
  seq: Sequence;
  /** Tokens written to the row: a decode row's last token and draft, a prompt row's chunk; none: padding only. */
  inputs: readonly number[];
  draft: readonly number[];
  /** Set for a prompt row. */
  chunk?: Chunk;
}

/** One admitted request. `cache` is its own until it joins the batch as a row. */
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
  /** The batch's rows, decoding and prompt rows: rows[i] is row i of `batch`. */
  private rows: RequestId[] = [];
  private batch: BatchKVCache;
  private readonly reclaim: MemoryReclaimer;
  private readonly meter: MemoryMeter;
  /** Prompt tokens reused from another position of a stored prompt (cacheReuseTokens). */
  movedTokens = 0;
  /** Padding tokens the batch's part may take on for prompt chunks to ride in it as rows (placeChunks). */
  private readonly rowPadding: number;
  #keptRelease?: NodeJS.Timeout;

  constructor(readonly model: LanguageModel, options: Partial<MlxEngineOptions> = {}) {
    this.options = { ...DEFAULT_ENGINE_OPTIONS, ...options };
    this.contextLength = this.options.contextLength ?? model.args.maxPositionEmbeddings;
    this.prefixStore = new PrefixStore(this.options.prefixCacheTokens);
    this.batch = new BatchKVCache(model.args.numHiddenLayers, []);
    this.reclaim = new MemoryReclaimer(this.options.gcEvery);
    this.rowPadding = this.options.promptRowPadding ?? promptRowPadding(model.args.hiddenSize);
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
    this.checkDecodeRows(plan.decode);
    const chunks = plan.prefill.map((c) => this.chunk(c));
    const inRows = this.placeChunks(chunks, plan);
    const parts = chunks.filter((c) => !inRows.has(c.id));
    // Every batch row is fed this step: a decode row its last sampled token (the only one whose
    // keys are not cached: rejected drafts are discarded, never fed again) and its draft, a
    // prompt row its chunk, and a prompt row without a chunk this step nothing but padding. Rows
    // are padded at the end to one width; the padding's columns are discarded with the rejected
    // drafts.
    const feeds: RowFeed[] = this.rows.map((id) => {
      const seq = this.seq(id);
      const chunk = inRows.get(id);
      if (chunk) return { id, seq, draft: [], inputs: seq.prompt.slice(chunk.start, chunk.end), chunk };
      if (seq.computed < seq.prompt.length || plan.decode.length === 0) return { id, seq, draft: [], inputs: [] };
      const draft = plan.drafts?.get(id) ?? [];
      return { id, seq, draft, inputs: [seq.output[seq.output.length - 1], ...draft] };
    });
    const width = Math.max(0, ...feeds.map((f) => f.inputs.length));
    const forward: ForwardPart[] = [];
    // Packed token indices whose logits are read, in the order of `sampled`: each decode row's
    // inputs and the last token of each row whose chunk ends its prompt, then the last token of
    // each part that ends its prompt.
    const pick: number[] = [];
    const sampled: RowFeed[] = [];
    if (width > 0) {
      const inputs = feeds.flatMap((f) => {
        const row = f.inputs.length > 0 ? f.inputs : [f.seq.prompt[0]];
        return [...row, ...new Array<number>(width - row.length).fill(row[row.length - 1])];
      });
      forward.push({ inputs: mx.array(inputs, mx.int32).reshape([feeds.length, width]), cache: this.batch });
      feeds.forEach((f, i) => {
        if (f.chunk && f.chunk.end < f.seq.prompt.length) return;
        if (f.chunk) pick.push(i * width + f.inputs.length - 1);
        else if (f.inputs.length > 0) for (let j = 0; j < f.inputs.length; j++) pick.push(i * width + j);
        else return;
        sampled.push(f);
      });
    }
    let at = feeds.length * width;
    const done: Chunk[] = [];
    for (const c of parts) {
      forward.push({ inputs: mx.array(c.seq.prompt.slice(c.start, c.end), mx.int32).reshape([1, c.end - c.start]), cache: c.cache! });
      at += c.end - c.start;
      if (c.end === c.seq.prompt.length) {
        done.push(c);
        pick.push(at - 1);
        sampled.push({ id: c.id, seq: c.seq, draft: [], inputs: [] });
      }
    }
    if (forward.length === 0) return { tokens };
    const caches = forward.map((p) => p.cache as BatchKVCache);
    const partTokens = parts.reduce((n, c) => n + c.end - c.start, 0);
    const logits = await this.forward(forward, caches, partTokens >= RECLAIM_FROM_PROMPT_TOKENS, pick);
    let verdicts: Verdict[] = [];
    const logprobs = new Map<RequestId, TokenLogprob[]>();
    if (pick.length > 0) {
      // Reading the tokens evaluates the whole pass (every part feeds the packed products).
      const rows = logits.reshape([logits.shape[0], -1]);
      verdicts = verifyBatch(rows, sampled.map((c) => ({ sampler: c.seq.sampler, draft: c.draft, history: { prompt: c.seq.prompt, output: c.seq.output } })));
      // Rows that ask for logprobs: one per emitted token (accepted drafts, then the model's own),
      // from the logits row that produced it.
      const asks: LogprobAsk[] = [];
      const owners: RequestId[] = [];
      let first = 0;
      sampled.forEach((c, i) => {
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
    const verdictOf = new Map(sampled.map((c, i) => [c.id, verdicts[i]]));
    if (width > 0) {
      // Every row wrote `width` columns: a decode row's last token and accepted drafts stay, a
      // prompt row's chunk stays; rejected drafts and padding become dead columns of that row.
      feeds.forEach((f, i) => {
        const verdict = verdictOf.get(f.id);
        if (f.chunk) {
          this.batch.discard(i, width - f.inputs.length);
          f.seq.computed = f.chunk.end;
        } else if (f.inputs.length === 0) {
          this.batch.discard(i, width);
          return;
        } else {
          const kept = f.draft.slice(0, verdict!.accepted);
          this.batch.discard(i, width - 1 - kept.length);
          f.seq.computed += 1 + kept.length;
          f.seq.output.push(...kept);
          if (f.draft.length > 0) accepted.set(f.id, kept);
        }
        if (verdict) {
          f.seq.output.push(verdict.token);
          tokens.set(f.id, verdict.token);
        }
      });
      this.batch.squeezeIfSparse();
    }
    for (const c of parts) c.seq.computed = c.end;
    for (const c of done) {
      const token = verdictOf.get(c.id)!.token;
      c.seq.output.push(token);
      tokens.set(c.id, token);
      if (this.prefixStore.capacityTokens > 0) this.prefixStore.insert(c.seq.prompt, c.cache!);
      c.seq.cache = undefined;
      this.rows.push(c.id);
    }
    if (done.length > 0) this.batch.insert(...done.map((c) => c.cache!));
    await this.reclaim.step();
    return { tokens, ...(accepted.size > 0 ? { accepted } : {}), ...(logprobs.size > 0 ? { logprobs } : {}) };
  }

  /**
   * Which chunks run as rows of the batch's part this step, by request. A prompt chunk runs as a
   * row when the batch's part then stays one compiled pass (rows x width <= COMPILED_PASS_TOKENS):
   * a part of its own beside the decode rows costs about a decode step more (its own attention,
   * a graph built operation by operation, no compiled pass), which held prompts beside running
   * streams to a token or two a step. A request that joins as a row stays one, a prompt row,
   * until its prompt is done; a prompt row given a chunk too wide to fit leaves the batch again
   * (its keys and values copied out) and runs as a part. Every row is padded to the widest, so a
   * chunk rides only while the padding stays within `rowPadding` tokens (promptRowPadding). A
   * request joins only a step with decode rows.
   * The prefix store keeps the prompt a joining request had computed.
   */
  private placeChunks(chunks: Chunk[], plan: StepPlan): Map<RequestId, Chunk> {
    const inRows = new Map<RequestId, Chunk>();
    const fed = plan.decode.map((id) => 1 + (plan.drafts?.get(id)?.length ?? 0));
    let width = Math.max(1, ...fed);
    let rows = this.rows.length;
    /** Tokens the batch's part computes for its rows (the rest of rows x width is padding). */
    let useful = fed.reduce((a, b) => a + b, 0);
    for (const c of chunks) {
      const row = this.rows.indexOf(c.id);
      const w = Math.max(width, c.end - c.start);
      const n = row >= 0 ? rows : rows + 1;
      if ((row >= 0 || plan.decode.length > 0) && n * w <= COMPILED_PASS_TOKENS && n * w - (useful + c.end - c.start) <= this.rowPadding) {
        inRows.set(c.id, c);
        width = w;
        rows = n;
        useful += c.end - c.start;
      } else if (row >= 0) {
        c.seq.cache = this.batch.extract(row);
        c.cache = c.seq.cache;
        this.batch.remove([row]);
        this.rows.splice(row, 1);
        rows--;
      }
    }
    for (const c of chunks) if (!inRows.has(c.id)) c.cache = c.seq.cache ??= new BatchKVCache(this.model.args.numHiddenLayers);
    const joining = [...inRows.values()].filter((c) => !this.rows.includes(c.id));
    for (const c of joining) {
      c.cache ??= new BatchKVCache(this.model.args.numHiddenLayers);
      if (this.prefixStore.capacityTokens > 0 && c.start > 0) this.prefixStore.insert(c.seq.prompt.slice(0, c.start), c.cache);
      c.seq.cache = undefined;
      this.rows.push(c.id);
    }
    if (joining.length > 0) this.batch.insert(...joining.map((c) => c.cache!));
    return inRows;
  }

  release(id: RequestId): void {
    const seq = this.seqs.get(id);
    if (!seq) return;
    this.seqs.delete(id);
    const row = this.rows.indexOf(id);
    // Removing a row rebuilds the batch cache: the old one is dropped whole.
    const dropped = row >= 0 ? this.batch.bytes : seq.cache?.bytes ?? 0;
    if (row >= 0) {
      // Keep what this conversation computed (prompt + output but the last token) for reuse,
      // unless the store already holds nearly all of it (RELEASE_STORE_NEW).
      const held = this.batch.lengths[row];
      const tokens = this.prefixStore.capacityTokens > 0 && held >= this.prefixStore.minTokens ? [...seq.prompt, ...seq.output].slice(0, held) : [];
      if (tokens.length > 0 && held - this.prefixStore.covered(tokens) >= held * RELEASE_STORE_NEW) {
        const kept = this.batch.extract(row, held);
        mx.eval(...kept.arrays());
        this.prefixStore.insert(tokens, kept);
      }
      this.batch.remove([row]);
      this.rows.splice(row, 1);
    }
    if (this.seqs.size === 0) {
      // Idle: free what the requests held, and nothing will reuse the buffers MLX cached. The
      // collected wrappers free their buffers (into that cache) after this turn of the event
      // loop: the cache is emptied again then.
      this.reclaim.collect();
      this.meter.releaseBufferCache();
      setImmediate(() => {
        if (this.seqs.size === 0) this.meter.releaseBufferCache();
      });
      // The memory malloc keeps for the next pass goes back only once no pass has come for a
      // while: completions come a few hundred milliseconds apart while the user types.
      clearTimeout(this.#keptRelease);
      this.#keptRelease = setTimeout(() => {
        if (this.seqs.size === 0) this.meter.releaseKeptMemory();
      }, KEPT_MEMORY_IDLE_MS).unref();
    } else {
      this.reclaim.dropped(dropped);
    }
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

  /** The plan's decode rows, if any, must be exactly the batch's rows whose prompt is done (none: they wait a step). */
  private checkDecodeRows(ids: RequestId[]): void {
    if (ids.length === 0) return;
    const decoding = this.rows.filter((id) => { const s = this.seq(id); return s.computed >= s.prompt.length; });
    if (ids.length !== decoding.length || ids.some((id) => !decoding.includes(id))) {
      throw new MlxBatchError('internal', `engine: decode plan [${ids.join(', ')}] does not match the decoding rows [${decoding.join(', ')}]`);
    }
  }

  private chunk({ id, start, end }: StepPlan['prefill'][number]): Chunk {
    const seq = this.seq(id);
    if (start !== seq.computed || end <= start || end > seq.prompt.length) {
      throw new MlxBatchError('internal', `engine: chunk [${start}, ${end}) of ${id} does not follow its ${seq.computed} computed tokens`);
    }
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
