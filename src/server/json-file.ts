// Reading a JSON file (config.json, tokenizer files, training records): one helper whose errors
// name the file and say which went wrong: missing, unreadable, not JSON, or not an object.
import fs from 'node:fs';
import path from 'node:path';
import { MlxBatchError, type ErrorType } from '../shared/errors';

export type JsonObject = Record<string, unknown>;

export interface JsonFileOptions {
  /** The error type of every failure; default `invalid_config`. */
  type?: ErrorType;
  /** A missing file reads as undefined instead of an error. */
  optional?: boolean;
}

export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The parsed content of `file`. */
export function readJsonFile(file: string, opts: JsonFileOptions & { optional: true }): unknown;
export function readJsonFile(file: string, opts?: JsonFileOptions): unknown;
export function readJsonFile(file: string, opts: JsonFileOptions = {}): unknown {
  const type = opts.type ?? 'invalid_config';
  const name = path.basename(file);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      if (opts.optional) return undefined;
      throw new MlxBatchError(type, `${name} is missing (${file})`, file);
    }
    throw new MlxBatchError(type, `cannot read ${name} (${file}): ${(e as Error).message}`, file);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new MlxBatchError(type, `${name} is not valid JSON (${file}): ${(e as Error).message}`, file);
  }
}

/** The JSON object in `file` (anything else in it is an error). */
export function readJsonObject(file: string, opts: JsonFileOptions & { optional: true }): JsonObject | undefined;
export function readJsonObject(file: string, opts?: JsonFileOptions): JsonObject;
export function readJsonObject(file: string, opts: JsonFileOptions = {}): JsonObject | undefined {
  const value = readJsonFile(file, opts);
  if (value === undefined && opts.optional) return undefined;
  if (!isJsonObject(value)) {
    throw new MlxBatchError(opts.type ?? 'invalid_config', `${path.basename(file)} must hold a JSON object (${file})`, file);
  }
  return value;
}
