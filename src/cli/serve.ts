// `mlx-batch serve`: the OpenAI-compatible inference server over the continuous batch.
import { MlxBatchError } from '../shared/errors';
import { runServe } from './server/app';
import { loadInferenceService } from '../server/load-service';
import { SERVE_USAGE } from './server/serve-options';
import type { Command } from './command';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'Run the OpenAI-compatible server (continuous batching) on a model',
  usage: SERVE_USAGE,
  async run(argv) {
    const code = await runServe(argv, loadInferenceService);
    if (code !== 0) throw new MlxBatchError('internal', `the server stopped with exit code ${code}`);
  },
};
