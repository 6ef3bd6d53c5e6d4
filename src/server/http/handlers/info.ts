// GET /health, GET /v1/models, GET /metrics.
import type { Health, ModelList } from '../../../shared/protocol';
import type { Handler } from '../context';
import { sendJson } from '../errors';

/** 200 when ready, 503 while loading or draining (body says which). */
export const healthHandler: Handler = async ({ res, state }) => {
  const body: Health & { error?: string } = {
    status: state.status,
    model: state.service?.model.id ?? null,
    ...(state.status === 'loading' ? { progress: state.progress } : {}),
    ...(state.loadError ? { error: state.loadError.message } : {}),
  };
  sendJson(res, state.status === 'ready' ? 200 : 503, body);
};

export const modelsHandler: Handler = async ({ res, state }) => {
  const service = state.requireService();
  const { id, created, contextLength } = service.model;
  const body: ModelList = { object: 'list', data: [{ id, object: 'model', created, owned_by: 'mlx-batch', context_length: contextLength }] };
  sendJson(res, 200, body);
};

export const metricsHandler: Handler = async ({ res, state, metrics }) => {
  const service = state.service;
  const runner = service ? { stats: service.stats(), metrics: service.metrics() } : undefined;
  const text = metrics.render(runner, state.loadError ? 'failed' : state.status);
  res.writeHead(200, {
    'content-type': 'text/plain; version=0.0.4; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
};
