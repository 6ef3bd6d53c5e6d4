// The server process (dist/server.js), started by the extension with `mlx-batch serve`'s
// arguments. stdout carries only JSON event lines (ServerEvent); logs go to stderr.
import { MlxBatchError } from '../../shared/errors';
import { announce, runServe } from './app';
import { loadInferenceService } from '../../server/load-service';
import { stderrOutput } from './output';

runServe(process.argv.slice(2), loadInferenceService).then(
  (code) => process.exit(code),
  (e: unknown) => {
    const err = e instanceof MlxBatchError ? e : new MlxBatchError('internal', (e as Error)?.message ?? String(e));
    announce({ event: 'error', message: err.message, type: err.type });
    stderrOutput().write(`mlx-batch server: ${e instanceof MlxBatchError ? e.message : (e as Error)?.stack ?? String(e)}\n`);
    process.exit(err.type === 'validation' ? 2 : 1);
  },
);
