// `mlx-batch export-checkpoint`: the latest checkpoint of a training run (possibly still going)
// as a model folder, to evaluate or try it before the run ends.
import fs from 'node:fs';
import path from 'node:path';
import { readJsonObject } from '../server/json-file';
import { MlxBatchError } from '../shared/errors';
import { exportCheckpoint } from '../training/checkpoint';
import { parseFlags, requireFlag, type Command } from './command';

const USAGE = 'mlx-batch export-checkpoint --run TRAIN_OUT_DIR --out MODEL_DIR';

export const exportCheckpointCommand: Command = {
  name: 'export-checkpoint',
  summary: "Write a training run's latest checkpoint as a model folder",
  usage: USAGE,
  async run(argv) {
    const f = parseFlags(argv, { run: { type: 'string' }, out: { type: 'string' } }, USAGE);
    const run = path.resolve(requireFlag(f.run, 'run', USAGE));
    const out = path.resolve(requireFlag(f.out, 'out', USAGE));
    for (const file of ['training_args.json', path.join('checkpoint', 'model.safetensors'), path.join('checkpoint', 'state.json'), path.join('checkpoint-tokenizer', 'tokenizer.json')]) {
      if (!fs.existsSync(path.join(run, file))) {
        throw new MlxBatchError('validation', `${run} holds no checkpoint of mlx-batch train (${file} is missing); pass the --out folder of a training run`, 'run');
      }
    }
    if (out === run) throw new MlxBatchError('validation', '--out must differ from --run (the run writes its own model there when it ends)', 'out');
    exportCheckpoint(run, out);
    const step = readJsonObject(path.join(run, 'checkpoint', 'state.json')).step;
    console.log(`step ${step} of ${run} written to ${out}`);
  },
};
