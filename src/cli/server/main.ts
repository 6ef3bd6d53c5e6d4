// The server process (dist/server.js), started by the extension with `mlx-batch serve`'s
// arguments. stdout carries only JSON event lines (ServerEvent); logs go to stderr.
// node-mlx is reached only through load-service, imported inside the guarded load: a native
// module that cannot load here becomes one `error` event (mlx_unavailable), not a crash.
import { toMlxBatchError } from '../../shared/errors';
import type { ServiceLoader } from '../../server/load-service';
import { announce, runServe } from './app';
import { stderrOutput } from './output';

const load: ServiceLoader = async (options, progress, log) => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded here, not when the bundle loads
  const { loadInferenceService } = require('../../server/load-service') as typeof import('../../server/load-service');
  return loadInferenceService(options, progress, log);
};

runServe(process.argv.slice(2), load).then(
  (code) => process.exit(code),
  (e: unknown) => {
    const err = toMlxBatchError(e);
    announce({ event: 'error', message: err.message, type: err.type });
    stderrOutput().write(`mlx-batch server: ${err.type === 'internal' ? err.stack ?? err.message : err.message}\n`);
    process.exit(err.type === 'validation' ? 2 : 1);
  },
);
