// The options of `mlx-batch serve` (and of dist/server.js, which takes the same arguments).
import { MlxBatchError } from '../../shared/errors';
import type { Device } from '../../server/device';
import {
  DEFAULT_BODY_LIMIT_BYTES, DEFAULT_COMPLETION_TOKENS, DEFAULT_DRAIN_TIMEOUT_S, DEFAULT_HOST, DEFAULT_MAX_BATCH,
  DEFAULT_CACHE_REUSE, DEFAULT_MAX_WAITING, DEFAULT_SPECULATIVE, DEFAULT_STATS_INTERVAL_MS, SPECULATIVE_MODES,
} from '../../shared/server-defaults';
import { deviceFlag, intFlag, modelFlag, oneOf, parseFlags } from '../command';

export interface ServeOptions {
  /** Model folder or Hugging Face id in the local cache. */
  model: string;
  /** The device MLX runs on; undefined: gpu when Metal is available, else cpu. */
  device: Device | undefined;
  host: string;
  /** 0 picks a free port. */
  port: number;
  maxBatch: number;
  /** KV-cache budget in tokens; undefined: the loader picks it from the memory left after the weights. */
  kvBudgetTokens: number | undefined;
  /** Most requests waiting for a row; past it, 429. */
  maxWaiting: number;
  batching: boolean;
  /** Speculative decoding by prompt lookup (`--speculative ngram`, the default) or none (`off`). */
  speculative: boolean;
  /** Shortest run reused from another position of a stored prompt, keys moved (0: exact prefixes only). */
  cacheReuseTokens: number;
  /** File whose first line is the bearer token every request must carry. */
  tokenFile: string | undefined;
  /** Needed to listen on a non-loopback address. */
  allowRemote: boolean;
  bodyLimit: number;
  /** Default max_tokens of /v1/completions. */
  defaultCompletionTokens: number;
  /** How long SIGTERM waits for running requests. */
  drainTimeoutMs: number;
  statsIntervalMs: number;
  /** Exit when this process is gone (default: when our parent changes). */
  parentPid: number | undefined;
  /** Exit when stdin ends: the parent holds the write end of a pipe it never writes. */
  watchStdin: boolean;
}

export const SERVE_USAGE = `mlx-batch serve [--model M] [--device cpu|gpu] [--host ${DEFAULT_HOST}] [--port 0] [--max-batch ${DEFAULT_MAX_BATCH}] [--kv-budget TOKENS] ` +
  `[--max-waiting ${DEFAULT_MAX_WAITING}] [--no-batching] [--speculative ${SPECULATIVE_MODES.join('|')}] [--cache-reuse ${DEFAULT_CACHE_REUSE}] [--token-file F] [--allow-remote] [--body-limit ${DEFAULT_BODY_LIMIT_BYTES}] [--max-tokens-default ${DEFAULT_COMPLETION_TOKENS}] ` +
  `[--drain-timeout ${DEFAULT_DRAIN_TIMEOUT_S}] [--parent-pid PID] [--watch-stdin]`;

const FLAGS = {
  model: { type: 'string' },
  device: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  'max-batch': { type: 'string' },
  'kv-budget': { type: 'string' },
  'max-waiting': { type: 'string' },
  'no-batching': { type: 'boolean' },
  speculative: { type: 'string' },
  'cache-reuse': { type: 'string' },
  'token-file': { type: 'string' },
  'allow-remote': { type: 'boolean' },
  'body-limit': { type: 'string' },
  'max-tokens-default': { type: 'string' },
  'drain-timeout': { type: 'string' },
  'stats-interval-ms': { type: 'string' },
  'parent-pid': { type: 'string' },
  'watch-stdin': { type: 'boolean' },
} as const;

export function parseServeOptions(argv: string[]): ServeOptions {
  const f = parseFlags(argv, FLAGS, SERVE_USAGE);
  const port = intFlag(f.port, 'port', 0, 0);
  if (port > 65535) throw new MlxBatchError('validation', '--port must be at most 65535', 'port');
  const parentPid = f['parent-pid'] === undefined ? undefined : intFlag(f['parent-pid'], 'parent-pid', 0, 1);
  return {
    model: modelFlag(f.model),
    device: deviceFlag(f.device),
    host: f.host ?? DEFAULT_HOST,
    port,
    maxBatch: intFlag(f['max-batch'], 'max-batch', DEFAULT_MAX_BATCH, 1),
    kvBudgetTokens: f['kv-budget'] === undefined ? undefined : intFlag(f['kv-budget'], 'kv-budget', 0, 1),
    maxWaiting: intFlag(f['max-waiting'], 'max-waiting', DEFAULT_MAX_WAITING, 0),
    batching: !f['no-batching'],
    speculative: oneOf(f.speculative ?? DEFAULT_SPECULATIVE, SPECULATIVE_MODES, 'speculative') === 'ngram',
    cacheReuseTokens: intFlag(f['cache-reuse'], 'cache-reuse', DEFAULT_CACHE_REUSE, 0),
    tokenFile: f['token-file'],
    allowRemote: f['allow-remote'] ?? false,
    bodyLimit: intFlag(f['body-limit'], 'body-limit', DEFAULT_BODY_LIMIT_BYTES, 1024),
    defaultCompletionTokens: intFlag(f['max-tokens-default'], 'max-tokens-default', DEFAULT_COMPLETION_TOKENS, 1),
    drainTimeoutMs: intFlag(f['drain-timeout'], 'drain-timeout', DEFAULT_DRAIN_TIMEOUT_S, 0) * 1000,
    statsIntervalMs: intFlag(f['stats-interval-ms'], 'stats-interval-ms', DEFAULT_STATS_INTERVAL_MS, 50),
    parentPid,
    watchStdin: f['watch-stdin'] ?? false,
  };
}
