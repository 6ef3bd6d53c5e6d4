// What every `mlx-batch <command>` module exports. main.ts holds the list.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { MlxBatchError } from '../shared/errors';
import { shippedModel } from '../shared/shipped-model';
import type { Device } from '../server/device';

export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(argv: string[]): Promise<void>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses `argv` strictly; unknown flags and stray values become a `validation` error. */
export function parseFlags<O extends Options>(argv: string[], options: O, usage: string) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new MlxBatchError('validation', `${(e as Error).message}\nusage: ${usage}`);
  }
}

export function intFlag(value: string | undefined, name: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new MlxBatchError('validation', `--${name} must be an integer >= ${min} (got "${value}")`, name);
  return n;
}

export function oneOf<T extends string>(value: string, allowed: readonly T[], name: string): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new MlxBatchError('validation', `--${name} must be one of ${allowed.join(', ')} (got "${value}")`, name);
  }
  return value as T;
}

export function numberFlag(value: string | undefined, name: string, fallback: number, min = 0, max = Infinity): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max) throw new MlxBatchError('validation', `--${name} must be a number in [${min}, ${max}] (got "${value}")`, name);
  return n;
}

export function requireFlag(value: string | undefined, name: string, usage: string): string {
  if (value === undefined || value === '') throw new MlxBatchError('validation', `--${name} is required\nusage: ${usage}`, name);
  return value;
}

/** What `--model` takes, shown under the usage of every command that has it. */
export const MODEL_FLAG_HELP = '--model M: a model folder or a Hugging Face repo id in the local cache; default: the shipped model (models/default)';

/** `--model`, or the model shipped with mlx-batch when none is named (as the extension does). */
export function modelFlag(value: string | undefined): string {
  return value ?? shippedModel(__dirname);
}

/** `--device cpu|gpu`; undefined: the default (gpu when Metal is available, else cpu). */
export function deviceFlag(value: string | undefined): Device | undefined {
  return value === undefined ? undefined : oneOf<Device>(value, ['cpu', 'gpu'], 'device');
}
