// Resumable checkpoints: model weights, optimizer state (AdamW m and v), and the loop's state
// (step, random generator, token counts) in one folder, written atomically by rename.
import fs from 'node:fs';
import path from 'node:path';
import { readJsonObject } from '../server/json-file';
import { mx, utils, type MxArray, type optimizers } from '../server/mlx';
import type { LanguageModel } from '../server/model/types';
import type { FimLayout } from '../server/fim';
import type { MixCounts } from './batches';
import { createModel, parseModelArgs } from '../server/model';
import { modelConfig, readBpe, saveWeights, writeModelFolder } from './model-files';
import { SPECIAL_TOKENS } from './tokenizer-spec';

export interface LoopState {
  step: number;
  rngState: number;
  counts: MixCounts;
  /** Hash of the options that must not change across a resume. */
  fingerprint: string;
}

export function saveCheckpoint(dir: string, model: LanguageModel, opt: optimizers.Optimizer, state: LoopState): void {
  const tmp = `${dir}.tmp`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  saveWeights(path.join(tmp, 'model.safetensors'), model, 'float32');
  const arrays: Record<string, MxArray> = {};
  for (const [k, v] of utils.treeFlatten(opt.state)) if (v instanceof mx.array) arrays[k] = v;
  mx.saveSafetensors(path.join(tmp, 'optimizer.safetensors'), arrays);
  fs.writeFileSync(path.join(tmp, 'state.json'), `${JSON.stringify(state, null, 2)}\n`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
}

function setPath(tree: Record<string, unknown>, key: string, value: MxArray): void {
  const parts = key.split('.');
  let node: Record<string, unknown> = tree;
  for (const p of parts.slice(0, -1)) {
    const next = node[p];
    if (typeof next !== 'object' || next === null) throw new Error(`optimizer state has no "${key}"`);
    node = next as Record<string, unknown>;
  }
  node[parts[parts.length - 1]] = value;
}

/** Loads a checkpoint into `model` and `opt`; returns the loop state to continue from. */
export function loadCheckpoint(dir: string, model: LanguageModel, opt: optimizers.Optimizer): LoopState {
  const weights = mx.load(path.join(dir, 'model.safetensors')) as unknown as Record<string, MxArray>;
  model.loadWeights(Object.entries(weights), true);
  opt.init(model.trainableParameters());
  const saved = mx.load(path.join(dir, 'optimizer.safetensors')) as unknown as Record<string, MxArray>;
  for (const [k, v] of Object.entries(saved)) setPath(opt.state as Record<string, unknown>, k, v);
  mx.eval(model.parameters(), opt.state);
  return readJsonObject(path.join(dir, 'state.json')) as unknown as LoopState;
}

/**
 * Writes the latest checkpoint of the training run in `trainOut` as a model folder at `dest`
 * (what `train` writes at its end), e.g. to try a model while training goes on.
 */
export function exportCheckpoint(trainOut: string, dest: string): void {
  const args = readJsonObject(path.join(trainOut, 'training_args.json')) as unknown as {
    shape: Parameters<typeof modelConfig>[0]; dtype: 'float32' | 'bfloat16'; mix?: { fimLayout?: FimLayout };
  };
  const bpe = readBpe(path.join(trainOut, 'checkpoint-tokenizer'));
  const config = modelConfig(args.shape, bpe, bpe.vocab.size + SPECIAL_TOKENS.length, args.dtype);
  const model = createModel(parseModelArgs(config));
  const weights = mx.load(path.join(trainOut, 'checkpoint', 'model.safetensors')) as unknown as Record<string, MxArray>;
  model.loadWeights(Object.entries(weights), true);
  writeModelFolder(dest, model, config, bpe, args.dtype, args.mix?.fimLayout ?? 'psm');
  fs.copyFileSync(path.join(trainOut, 'training_args.json'), path.join(dest, 'training_args.json'));
}
