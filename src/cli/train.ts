// `mlx-batch train`: trains the default model (tokenizer, Qwen2 model, checkpoints, resume).
import { train } from '../training/train';
import type { Command } from './command';
import { TRAIN_USAGE, trainOptions } from './train-flags';

export const trainCommand: Command = {
  name: 'train',
  summary: 'Train the default code model (BPE tokenizer + Qwen2 model) from the npm corpus',
  usage: TRAIN_USAGE,
  async run(argv) {
    await train({ ...trainOptions(argv), log: (line) => console.log(line) });
  },
};
