// The trainer's options and their defaults, apart from the trainer so that what reads them
// (the `train` command's flags, evaluation's record of a run) needs no node-mlx.
import { DEFAULT_MIX, type MixOptions } from './batches';
import type { ModelShape } from './model-files';

export interface TrainOptions {
  /** Folder for the finished model; checkpoints go to `<out>/checkpoint`. */
  out: string;
  corpusRoot: string;
  corpusBytes: number;
  heldOutShare: number;
  /** Leave out training files that copy a held-out file (off for the phases trained before it existed). */
  dropHeldOutCopies: boolean;
  /** Total vocabulary, special tokens included. */
  vocabSize: number;
  shape: ModelShape;
  seqLen: number;
  /** What the rows are made of: FIM and chat shares, FIM context sizes, the weight of FIM middles. */
  mix: MixOptions;
  batch: number;
  steps: number;
  warmup: number;
  lr: number;
  minLr: number;
  weightDecay: number;
  clip: number;
  evalEvery: number;
  evalWindows: number;
  checkpointEvery: number;
  seed: number;
  resume: boolean;
  /** Start from this model folder's weights and tokenizer (a second training phase). */
  initFrom?: string;
  /** Stop once this step is reached, writing the model so far and a checkpoint to continue with `resume`. */
  stopAfter?: number;
  dtype: 'float32' | 'bfloat16';
  log: (line: string) => void;
}

/** The options a model was trained with, kept next to it so evaluation can rebuild the split. */
export const TRAINING_RECORD = 'training_args.json';

export const DEFAULT_TRAIN_OPTIONS: Omit<TrainOptions, 'out' | 'log'> = {
  corpusRoot: 'node_modules',
  corpusBytes: 24_000_000,
  heldOutShare: 0.04,
  dropHeldOutCopies: false,
  vocabSize: 4096,
  shape: { hiddenSize: 192, layers: 4, heads: 3, kvHeads: 3, intermediateSize: 512, maxPositions: 1024 },
  seqLen: 256,
  mix: DEFAULT_MIX,
  batch: 8,
  steps: 700,
  warmup: 30,
  lr: 3e-3,
  minLr: 3e-4,
  weightDecay: 0.05,
  clip: 1.0,
  evalEvery: 50,
  evalWindows: 32,
  checkpointEvery: 25,
  seed: 1,
  resume: false,
  dtype: 'bfloat16',
};
