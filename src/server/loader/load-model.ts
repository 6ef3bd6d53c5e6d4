// loadModel: folder or HF id -> checked config -> architecture module -> validated, converted weights.
// On the CPU float weights become float32 and quantized ones are dequantized (CPU matmul is
// f32-only and quantized matmul does not batch there); on Metal they stay as stored.
// Before any weight data is read, the memory check (memory-fit.ts) refuses a model that
// cannot fit and picks the KV budget.
import fs from 'node:fs';
import path from 'node:path';
import { MlxBatchError } from '../../shared/errors';
import { availableMemory, MemoryReclaimer, type AvailableMemory } from '../memory';
import { currentDevice, type Device } from '../device';
import { mx, type MxArray } from '../mlx';
import { createModel, parseModelArgs } from '../model';
import type { LanguageModel, ModelArgs, ModelConfig } from '../model/types';
import { checkWeights, flattenParameters } from './check-weights';
import { readModelConfig, type JsonObject, type Quantization } from './config';
import { describeContextCap, describePlan, estimateWeights, kvBytesPerToken, planMemory, type MemoryPlan, type WeightHolding } from './memory-fit';
import { dequantizeWeights, quantizeModule } from './quantized';
import { resolveModel } from './resolve-model';
import { findWeightFiles, type WeightFiles } from './weight-files';

export interface LoadProgress {
  /** The weight file just finished. */
  file: string;
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

export interface LoadModelOptions {
  /** The device the weights are held for; default: currentDevice() (device.ts). */
  device?: Device;
  /** Keep quantized weights packed (QuantizedLinear/QuantizedEmbedding). Default: only on a GPU. */
  keepQuantized?: boolean;
  /** Upcast bf16/f16 weights (and scales) to float32. Default: on the CPU. */
  float32?: boolean;
  /** Called after each weight file is read and converted. */
  onProgress?: (p: LoadProgress) => void;
  /** Environment for the HF cache location (tests). */
  env?: NodeJS.ProcessEnv;
  /** The KV budget (tokens) the caller set; checked. Undefined: picked from the memory left after the weights. */
  kvBudgetTokens?: number;
  /** Tokens of one full context; default: the model's max_position_embeddings. */
  contextLength?: number;
  /** The memory to plan against; default: availableMemory() (tests pass a figure). */
  availableMemory?: AvailableMemory;
  /** Info lines: the memory estimate and the KV budget, before the weights are read. */
  log?: (line: string) => void;
}

export interface LoadedModel {
  model: LanguageModel;
  args: ModelArgs;
  config: ModelConfig;
  generationConfig?: JsonObject;
  modelType: string;
  /** Folder the model was read from; tokenizer files are there too. */
  dir: string;
  /** Repo id, or folder name. */
  id: string;
  quantization?: Quantization;
  /** True when packed quantized layers were kept (GPU, or keepQuantized). */
  quantizedKept: boolean;
  /** Bytes the loaded parameters take in memory. */
  weightBytes: number;
  /** The estimate made before loading, and the KV budget to use. */
  memory: MemoryPlan;
  loadMs: number;
}

const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16']);

function checkDtypes(files: WeightFiles): void {
  for (const [name, { file, info }] of files.tensors) {
    if (FLOAT_DTYPES.has(info.dtype)) continue;
    const prefix = name.replace(/\.weight$/, '');
    if (info.dtype === 'U32' && name.endsWith('.weight') && files.tensors.has(`${prefix}.scales`)) continue;
    throw new MlxBatchError(
      'unsupported_model',
      `tensor "${name}" in ${path.basename(file)} has dtype ${info.dtype}; mlx-batch loads F32, F16 and BF16 weights and MLX-quantized (U32 + scales + biases) layers`,
      file,
    );
  }
}

/** How weights are held: quantized layers packed and floats as stored on a GPU; float32 on the CPU. */
export function weightHolding(opts: Pick<LoadModelOptions, 'keepQuantized' | 'float32' | 'device'>): WeightHolding {
  const gpu = (opts.device ?? currentDevice()) === 'gpu';
  return { keepQuantized: opts.keepQuantized ?? gpu, float32: opts.float32 ?? !gpu };
}

/** Loads a model folder or a Hugging Face repo id from the local cache. */
export async function loadModel(nameOrPath: string, opts: LoadModelOptions = {}): Promise<LoadedModel> {
  const t0 = performance.now();
  const { dir, id } = resolveModel(nameOrPath, opts.env);
  const { config, modelType, generationConfig, quantization } = readModelConfig(dir);
  const args = parseModelArgs(config);
  if (!fs.existsSync(path.join(dir, 'tokenizer.json'))) {
    throw new MlxBatchError(
      'tokenizer_missing',
      `${dir} has no tokenizer.json; mlx-batch needs the Hugging Face tokenizer file (models converted with mlx-lm include it)`,
      path.join(dir, 'tokenizer.json'),
    );
  }
  const files = findWeightFiles(dir);
  checkDtypes(files);

  const holding = weightHolding(opts);
  const { keepQuantized, float32 } = holding;
  const weightEstimate = estimateWeights(files, quantization, holding);
  const memory = planMemory({
    model: id,
    weights: weightEstimate,
    holding,
    kvBytesPerToken: kvBytesPerToken(args, weightEstimate.kvElementBytes),
    contextLength: opts.contextLength ?? args.maxPositionEmbeddings,
    available: opts.availableMemory ?? availableMemory(),
    requestedKvTokens: opts.kvBudgetTokens,
  });
  opts.log?.(describePlan(memory));
  const capped = describeContextCap(memory, opts.contextLength ?? args.maxPositionEmbeddings);
  if (capped) opts.log?.(capped);
  const model = createModel(args);
  const reclaim = new MemoryReclaimer();

  // Lazy arrays: nothing is read until evaluated, file by file, below.
  const origin = new Map<MxArray, string>();
  let raw = new Map<string, MxArray>();
  for (const h of files.files) {
    const arrays = mx.load(h.file) as unknown as Record<string, MxArray>;
    for (const [name, a] of Object.entries(arrays)) {
      raw.set(name, a);
      origin.set(a, h.file);
    }
  }
  raw = model.sanitize(raw);
  let weights: Map<string, MxArray>;
  if (keepQuantized) {
    quantizeModule(model, raw, quantization);
    weights = raw;
  } else {
    weights = dequantizeWeights(raw, quantization);
    for (const [name, a] of weights) if (!origin.has(a)) origin.set(a, origin.get(raw.get(name) as MxArray) ?? '');
  }
  checkWeights(flattenParameters(model), weights, `${id} (${modelType})`);

  // Convert and evaluate one source file's tensors at a time, so progress is real, and drop
  // every reference to the lazy originals (bf16, packed) so gc can free them as we go.
  const work = [...weights].map(([name, a]) => ({ name, a: a as MxArray | undefined, file: origin.get(a) ?? '' }));
  raw.clear();
  weights.clear();
  origin.clear();
  const final: [string, MxArray][] = [];
  let bytesDone = 0;
  for (const [i, h] of [...files.files, undefined].entries()) {
    const file = h?.file ?? '';
    const batch: MxArray[] = [];
    for (const w of work) {
      if (w.file !== file || !w.a) continue;
      const converted = float32 && w.a.dtype !== mx.float32 && w.a.dtype !== mx.uint32 ? w.a.astype(mx.float32) : w.a;
      w.a = undefined;
      final.push([w.name, converted]);
      batch.push(converted);
    }
    if (batch.length > 0) mx.eval(...batch);
    if (!h) continue;
    bytesDone += h.fileBytes;
    opts.onProgress?.({ file, filesDone: i + 1, filesTotal: files.files.length, bytesDone, bytesTotal: files.totalBytes });
    await reclaim.step();
  }
  model.loadWeights(final, true);
  model.eval();
  let weightBytes = 0;
  for (const a of flattenParameters(model).values()) weightBytes += a.size * a.itemsize;
  final.length = 0;
  reclaim.collect();
  return {
    model,
    args,
    config,
    generationConfig,
    modelType,
    dir,
    id,
    quantization,
    quantizedKept: keepQuantized && quantization !== undefined,
    weightBytes,
    memory,
    loadMs: performance.now() - t0,
  };
}
