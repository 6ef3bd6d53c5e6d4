// GET /v1/batching and POST /v1/batching {enabled}: the live continuous-batching switch.
import { MlxBatchError } from '../../../shared/errors';
import type { BatchingState } from '../../../shared/protocol';
import type { Handler } from '../context';
import type { InferenceService } from '../service';
import { readJson } from '../body';
import { sendJson } from '../errors';

const current = (service: InferenceService): BatchingState => {
  const s = service.stats();
  return { enabled: s.batching, max_batch: s.maxBatch };
};

export const getBatchingHandler: Handler = async ({ res, state }) => {
  sendJson(res, 200, current(state.requireService()));
};

export const setBatchingHandler: Handler = async (ctx) => {
  const service = ctx.state.requireService();
  const body = await readJson(ctx.req, ctx.options.bodyLimit);
  if (typeof body.enabled !== 'boolean') throw new MlxBatchError('validation', '"enabled" must be true or false', 'enabled');
  service.setBatching(body.enabled);
  ctx.log.info(`[${ctx.id}] continuous batching ${body.enabled ? 'on' : 'off'}`);
  sendJson(ctx.res, 200, current(service));
};
