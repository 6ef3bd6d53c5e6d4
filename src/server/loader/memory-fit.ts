// Will the model fit? From config.json and the safetensors headers only (no weight data is
// read): the weights as they will be held, plus the KV cache, against the memory available.
// Refuses with the figures, or picks the KV budget when the user gave none.
import { MlxBatchError } from '../../shared/errors';
import { DEFAULT_KV_BUDGET_TOKENS } from '../../shared/server-defaults';
import type { AvailableMemory } from '../memory';
import type { ModelArgs } from '../model/types';
import type { Quantization } from './config';
import { layerParams, quantizedPrefixes } from './quantized';
import { DTYPE_BYTES } from './safetensors';
import type { WeightFiles } from './weight-files';

/** How the loader holds weights (decided once, in load-model.ts's `weightHolding`). */
export interface WeightHolding {
  /** Quantized layers stay packed (uint32 + scales + biases); else they are dequantized. */
  keepQuantized: boolean;
  /** bf16/f16 tensors (and dequantized weights) become float32. */
  float32: boolean;
}

/** Kept free of the model: a share of the available memory plus a fixed amount (activations, the runtime). */
export const MEMORY_HEADROOM = { share: 0.1, bytes: 512 * 2 ** 20 } as const;

/** A budget the server picks takes at most this share of the memory left after the weights. */
export const KV_MEMORY_SHARE = 0.5;

/**
 * The shortest context worth serving. When a model's full context does not fit (Llama 3.x
 * declares 131,072 tokens), the server serves a shorter one, as llama.cpp's n_ctx does, and
 * refuses only when not even this much fits.
 */
export const MIN_SERVED_CONTEXT = 2048;

export interface WeightEstimate {
  /** Bytes the weights take as held. */
  bytes: number;
  /** Bytes of one key or value element: the dtype the model computes in. */
  kvElementBytes: number;
  /** How they are held, for messages ("float32, 4-bit weights dequantized"). */
  heldAs: string;
  /** Bits of the quantized layers, when there are any. */
  quantizedBits?: number;
}

const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** The weights' bytes as the loader will hold them, from the headers' dtypes and shapes. */
export function estimateWeights(files: WeightFiles, quantization: Quantization | undefined, holding: WeightHolding): WeightEstimate {
  const packed = new Map<string, number>();
  for (const prefix of quantizedPrefixes(files.tensors.keys())) {
    const p = quantization ? layerParams(quantization, prefix) : false;
    // Without usable settings the loader refuses the layer later; count it as stored meanwhile.
    if (p !== false && files.tensors.get(`${prefix}.weight`)?.info.dtype === 'U32') packed.set(prefix, p.bits);
  }
  // The dtype the model computes in: float32 when upcast, else the commonest float dtype stored.
  const floatElements = new Map<string, number>();
  for (const { info } of files.tensors.values()) {
    if (info.dtype !== 'U32') floatElements.set(info.dtype, (floatElements.get(info.dtype) ?? 0) + count(info.shape));
  }
  const stored = [...floatElements].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'F32';
  const floatBytes = (dtype: string) => (holding.float32 ? 4 : DTYPE_BYTES[dtype]);

  let bytes = 0;
  for (const [name, { info }] of files.tensors) {
    const prefix = name.replace(/\.(weight|scales|biases)$/, '');
    const bits = packed.get(prefix);
    if (bits === undefined || holding.keepQuantized) {
      bytes += count(info.shape) * (info.dtype === 'U32' ? 4 : floatBytes(info.dtype));
    } else if (name.endsWith('.weight')) {
      // Dequantized: the packed columns unfold to 32 / bits values each, in the scales' dtype.
      const scales = files.tensors.get(`${prefix}.scales`)?.info.dtype ?? stored;
      bytes += (count(info.shape) * 32 / bits) * floatBytes(scales);
    }
  }
  const bitSet = [...new Set(packed.values())];
  const quantizedBits = bitSet.length > 0 ? Math.max(...bitSet) : undefined;
  const how: string[] = [];
  if (quantizedBits !== undefined) how.push(holding.keepQuantized ? `${bitSet.join('/')}-bit weights packed` : `${bitSet.join('/')}-bit weights dequantized`);
  if (holding.float32 && [...floatElements.keys()].some((d) => d !== 'F32')) how.push(`${stored.toLowerCase()} upcast`);
  const heldAs = holding.float32 ? `float32${how.length ? `, ${how.join(', ')}` : ''}` : how.length ? how.join(', ') : `${stored.toLowerCase()} as stored`;
  return { bytes, kvElementBytes: holding.float32 ? 4 : DTYPE_BYTES[stored], heldAs, quantizedBits };
}

/** Bytes of keys and values one token takes in the cache: layers x 2 x kv heads x head dim x element. */
export function kvBytesPerToken(args: Pick<ModelArgs, 'numHiddenLayers' | 'numKeyValueHeads' | 'headDim'>, elementBytes: number): number {
  return args.numHiddenLayers * 2 * args.numKeyValueHeads * args.headDim * elementBytes;
}

export function headroomBytes(availableBytes: number): number {
  return Math.round(availableBytes * MEMORY_HEADROOM.share + MEMORY_HEADROOM.bytes);
}

/** The buffer cache's bound for a plan with this headroom. */
export function bufferCacheBytes(headroom: number): number {
  return Math.floor(headroom / 2);
}

export interface MemoryPlanInput {
  /** The model's name, for messages. */
  model: string;
  weights: WeightEstimate;
  holding: WeightHolding;
  kvBytesPerToken: number;
  /** Tokens of one full context (the engine's context length). */
  contextLength: number;
  available: AvailableMemory;
  /** The KV budget the user set (--kv-budget); undefined: picked here. */
  requestedKvTokens?: number;
}

export interface MemoryPlan {
  weightBytes: number;
  heldAs: string;
  kvBytesPerToken: number;
  kvBudgetTokens: number;
  kvBytes: number;
  /** True when the budget was picked from the memory left, false when the user set it. */
  derived: boolean;
  /**
   * Tokens of context served: the model's, or the budget when that is smaller (a request never
   * needs more KV than the budget holds, so a long one cannot run the machine out of memory).
   */
  contextTokens: number;
  available: AvailableMemory;
  headroomBytes: number;
  /**
   * Bytes MLX's buffer cache may keep: half the headroom (the rest is a step's scratch), so
   * weights, KV cache and cached buffers together stay inside the memory available.
   */
  bufferCacheBytes: number;
}

export function gb(bytes: number): string {
  return `${(bytes / 1e9).toFixed(bytes >= 10e9 ? 1 : 2)} GB`;
}

const tokens = (n: number) => `${n.toLocaleString('en-US')} tokens`;

/** The KV budget and the figures, or an `insufficient_memory` error that gives them. */
export function planMemory(input: MemoryPlanInput): MemoryPlan {
  const { weights, kvBytesPerToken: perToken, contextLength, available, requestedKvTokens } = input;
  const headroom = headroomBytes(available.bytes);
  const left = available.bytes - headroom - weights.bytes;
  const fitTokens = Math.max(0, Math.floor(left / perToken));
  const plan = (kvBudgetTokens: number, derived: boolean): MemoryPlan => ({
    weightBytes: weights.bytes, heldAs: weights.heldAs, kvBytesPerToken: perToken, kvBudgetTokens,
    kvBytes: kvBudgetTokens * perToken, derived, contextTokens: Math.min(contextLength, kvBudgetTokens), available, headroomBytes: headroom,
    bufferCacheBytes: bufferCacheBytes(headroom),
  });
  const refuse = (kvTokens: number, kvWhat: string, problem: string, budgetHint: boolean): never => {
    throw new MlxBatchError('insufficient_memory', [
      `${input.model} does not fit in the memory available: ${problem}.`,
      `Weights: ${gb(weights.bytes)} as held (${weights.heldAs}); KV cache: ${gb(kvTokens * perToken)} for ${kvWhat};`,
      `available: ${gb(available.bytes)} (${available.source}), of which ${gb(headroom)} is kept as headroom.`,
      advice(input, budgetHint ? fitTokens : undefined),
    ].join(' '), 'model');
  };

  if (left < 0) {
    const kv = requestedKvTokens ?? Math.min(contextLength, DEFAULT_KV_BUDGET_TOKENS);
    refuse(kv, requestedKvTokens ? `the KV budget of ${tokens(kv)} you set` : `one context of ${tokens(kv)}`, 'the weights alone take more than there is', false);
  }
  if (requestedKvTokens !== undefined) {
    if (requestedKvTokens > fitTokens) {
      refuse(requestedKvTokens, `the KV budget of ${tokens(requestedKvTokens)} you set`,
        `the weights fit, but the KV budget does not (at most ${tokens(fitTokens)} fit)`, true);
    }
    return plan(requestedKvTokens, false);
  }
  const least = Math.min(contextLength, MIN_SERVED_CONTEXT);
  if (fitTokens < least) {
    refuse(least, `a context of ${tokens(least)}`,
      `the weights fit, but not even the KV cache of a ${tokens(least)} context does (at most ${tokens(fitTokens)} fit)`, false);
  }
  // At least one full context when it fits (else as much as fits), at most the default cap.
  const share = Math.floor((KV_MEMORY_SHARE * left) / perToken);
  return plan(Math.max(Math.min(contextLength, fitTokens), Math.min(DEFAULT_KV_BUDGET_TOKENS, share)), true);
}

function advice(input: MemoryPlanInput, maxBudget: number | undefined): string {
  const { holding } = input;
  const ways: string[] = [holding.float32
    ? 'use a smaller model (the CPU backend holds every weight as float32, so a quantized model takes as much memory as an unquantized one here)'
    : 'use a smaller or quantized model'];
  if (holding.float32 || !holding.keepQuantized) ways.push('run on a Mac with Apple silicon, where weights stay as stored (4-bit ones packed, 1/8 of float32)');
  ways.push('use a server on a bigger machine (setting "mlxBatch.backend": "remote")');
  if (maxBudget !== undefined && maxBudget > 0) {
    const shorter = maxBudget < input.contextLength ? ' (the context served is then that long)' : '';
    ways.push(`set a KV budget of at most ${tokens(maxBudget)} (--kv-budget, setting "mlxBatch.server.kvBudget")${shorter}`);
  }
  const last = ways.pop() as string;
  return `To run it: ${ways.join('; ')}; or ${last}.`;
}

/** The info line the server logs at load. */
export function describePlan(plan: MemoryPlan): string {
  return `memory: weights ${gb(plan.weightBytes)} (${plan.heldAs}), KV cache ${gb(plan.kvBytes)} ` +
    `(budget ${tokens(plan.kvBudgetTokens)} x ${plan.kvBytesPerToken.toLocaleString('en-US')} bytes, ${plan.derived ? 'chosen from the memory left' : 'as set'}), ` +
    `available ${gb(plan.available.bytes)} (${plan.available.source}), headroom ${gb(plan.headroomBytes)} ` +
    `(MLX's buffer cache at most ${gb(plan.bufferCacheBytes)})`;
}

/** A warning when the context served is shorter than the model's (undefined: it is not). */
export function describeContextCap(plan: MemoryPlan, modelContext: number): string | undefined {
  if (plan.contextTokens >= modelContext) return undefined;
  return `serving a context of ${tokens(plan.contextTokens)}: the model declares ${tokens(modelContext)}, whose KV cache ` +
    `(${gb(modelContext * plan.kvBytesPerToken)}) ${plan.derived ? 'does not fit in the memory left' : 'is more than the KV budget set'}; longer prompts are refused`;
}
