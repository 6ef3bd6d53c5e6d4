// A server process like dist/server.js, but whose loader builds the service over the
// deterministic fake engine: for lifecycle tests (stdout events, SIGTERM, parent exit).
// FAKE_STEP_MS sets the engine's step time; a model named "fail" fails to load.
import { Runner } from '../../../src/batching/runner';
import { DEFAULT_SCHEDULER_OPTIONS } from '../../../src/batching/scheduler';
import { MlxBatchError } from '../../../src/shared/errors';
import { runServe } from '../../../src/cli/server/app';
import type { ServiceLoader } from '../../../src/server/load-service';
import { RunnerService } from '../../../src/server/http/runner-service';
import { FakeEngine } from '../../unit/batching/helpers/fake-engine';
import { CharTokenizer, nextLetter } from '../../http/helpers/char-tokenizer';

const load: ServiceLoader = async (options, progress) => {
  if (options.model === 'fail') throw new MlxBatchError('model_not_found', 'no model named "fail"', 'model');
  for (let i = 1; i <= 3; i++) {
    await new Promise((r) => setTimeout(r, 20));
    progress(i / 4, `weights ${i}/3`);
  }
  const engine = new FakeEngine({ contextLength: 512, next: nextLetter, stepMs: Number(process.env.FAKE_STEP_MS ?? 2) });
  const runner = new Runner(engine, { maxBatch: options.maxBatch, kvBudgetTokens: options.kvBudgetTokens ?? DEFAULT_SCHEDULER_OPTIONS.kvBudgetTokens, maxWaiting: options.maxWaiting, batching: options.batching, speculative: options.speculative });
  return new RunnerService({ id: options.model, contextLength: 512, created: 1_700_000_000 }, runner, new CharTokenizer(), { backend: 'cpu', benchmarkConcurrency: [2], benchmarkMaxTokens: 8 });
};

runServe(process.argv.slice(2), load).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(e instanceof MlxBatchError && e.type === 'validation' ? 2 : 1);
  },
);
