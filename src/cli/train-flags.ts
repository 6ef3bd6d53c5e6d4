// The flags of `mlx-batch train` -> the trainer's options, every value checked (no node-mlx here,
// so the checks are tested in the unit tier).
import path from 'node:path';
import { MlxBatchError } from '../shared/errors';
import { FIM_LAYOUTS, type FimLayout } from '../server/fim';
import { DEFAULT_TRAIN_OPTIONS, type TrainOptions } from '../training/train-options';
import { intFlag, numberFlag, oneOf, parseFlags, requireFlag } from './command';

export const TRAIN_USAGE = 'mlx-batch train --out DIR [--steps N] [--batch B] [--seq-len L] [--hidden D] [--layers N] [--heads H] ' +
  '[--intermediate F] [--vocab V] [--lr X] [--min-lr X] [--warmup N] [--corpus-bytes N] [--drop-held-out-copies] [--eval-every N] ' +
  '[--checkpoint-every N] [--seed S] [--dtype f32|bf16] [--init-from MODEL_DIR] [--stop-after N] [--resume] ' +
  '[--fim-share X] [--chat-share X] [--fim-prefix-chars N] [--fim-suffix-chars N] [--fim-middle-weight W] [--fim-layout spm|psm]';

const DTYPE_FLAGS = { float32: 'f32', bfloat16: 'bf16' } as const;

/** The trainer's options from `mlx-batch train` flags (all but `log`). */
export function trainOptions(argv: string[]): Omit<TrainOptions, 'log'> {
  const f = parseFlags(argv, {
    out: { type: 'string' }, steps: { type: 'string' }, batch: { type: 'string' }, 'seq-len': { type: 'string' },
    hidden: { type: 'string' }, layers: { type: 'string' }, heads: { type: 'string' }, intermediate: { type: 'string' },
    vocab: { type: 'string' }, lr: { type: 'string' }, 'min-lr': { type: 'string' }, warmup: { type: 'string' },
    'corpus-bytes': { type: 'string' }, 'eval-every': { type: 'string' }, 'checkpoint-every': { type: 'string' },
    seed: { type: 'string' }, dtype: { type: 'string' }, 'stop-after': { type: 'string' }, 'init-from': { type: 'string' }, resume: { type: 'boolean' },
    'drop-held-out-copies': { type: 'boolean' },
    'fim-share': { type: 'string' }, 'chat-share': { type: 'string' }, 'fim-prefix-chars': { type: 'string' },
    'fim-suffix-chars': { type: 'string' }, 'fim-middle-weight': { type: 'string' }, 'fim-layout': { type: 'string' },
  }, TRAIN_USAGE);
  const d = DEFAULT_TRAIN_OPTIONS;
  const fimShare = numberFlag(f['fim-share'], 'fim-share', d.mix.fimShare, 0, 1);
  const chatShare = numberFlag(f['chat-share'], 'chat-share', d.mix.chatShare, 0, 1);
  if (fimShare + chatShare > 1) throw new MlxBatchError('validation', `--fim-share plus --chat-share must be at most 1 (got ${fimShare + chatShare})`, 'fim-share');
  const fimLayout = oneOf<FimLayout>(f['fim-layout'] ?? d.mix.fimLayout, FIM_LAYOUTS, 'fim-layout');
  const hidden = intFlag(f.hidden, 'hidden', d.shape.hiddenSize, 8);
  const heads = intFlag(f.heads, 'heads', d.shape.heads, 1);
  if (hidden % heads !== 0) throw new MlxBatchError('validation', `--hidden (${hidden}) must be a multiple of --heads (${heads})`, 'heads');
  if ((hidden / heads) % 2 !== 0) {
    throw new MlxBatchError('validation', `the head size --hidden / --heads (${hidden / heads}) must be even for rotary embeddings`, 'heads');
  }
  const dtype = oneOf(f.dtype ?? DTYPE_FLAGS[d.dtype], ['f32', 'bf16'] as const, 'dtype');
  return {
    ...d,
    out: path.resolve(requireFlag(f.out, 'out', TRAIN_USAGE)),
    steps: intFlag(f.steps, 'steps', d.steps, 1),
    batch: intFlag(f.batch, 'batch', d.batch, 1),
    seqLen: intFlag(f['seq-len'], 'seq-len', d.seqLen, 8),
    mix: {
      fimShare,
      chatShare,
      fim: {
        ...d.mix.fim,
        maxPrefixChars: intFlag(f['fim-prefix-chars'], 'fim-prefix-chars', d.mix.fim.maxPrefixChars, 1),
        maxSuffixChars: intFlag(f['fim-suffix-chars'], 'fim-suffix-chars', d.mix.fim.maxSuffixChars, 0),
      },
      fimLayout,
      fimMiddleWeight: numberFlag(f['fim-middle-weight'], 'fim-middle-weight', d.mix.fimMiddleWeight, 0, 100),
    },
    shape: {
      hiddenSize: hidden,
      layers: intFlag(f.layers, 'layers', d.shape.layers, 1),
      heads,
      kvHeads: heads,
      intermediateSize: intFlag(f.intermediate, 'intermediate', d.shape.intermediateSize, 8),
      maxPositions: d.shape.maxPositions,
    },
    vocabSize: intFlag(f.vocab, 'vocab', d.vocabSize, 512),
    lr: numberFlag(f.lr, 'lr', d.lr, 0, 1),
    minLr: numberFlag(f['min-lr'], 'min-lr', d.minLr, 0, 1),
    warmup: intFlag(f.warmup, 'warmup', d.warmup, 0),
    corpusBytes: intFlag(f['corpus-bytes'], 'corpus-bytes', d.corpusBytes, 10_000),
    dropHeldOutCopies: f['drop-held-out-copies'] === true,
    evalEvery: intFlag(f['eval-every'], 'eval-every', d.evalEvery, 1),
    checkpointEvery: intFlag(f['checkpoint-every'], 'checkpoint-every', d.checkpointEvery, 1),
    seed: intFlag(f.seed, 'seed', d.seed, 0),
    dtype: dtype === 'f32' ? 'float32' : 'bfloat16',
    resume: f.resume === true,
    initFrom: f['init-from'] === undefined ? undefined : path.resolve(f['init-from']),
    stopAfter: f['stop-after'] === undefined ? undefined : intFlag(f['stop-after'], 'stop-after', 0, 1),
  };
}
