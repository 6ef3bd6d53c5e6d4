// Temp folders and error assertions for the loader and make-model tests.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MlxBatchError, type ErrorType } from '../../../src/shared/errors';

/** Fixture models made once per machine for these tests (under the OS temp folder). */
export const TEST_MODELS_ROOT = path.join(os.tmpdir(), 'mlx-batch-test-models');

const made: string[] = [];

export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `mlx-batch-${prefix}-`));
  made.push(dir);
  return dir;
}

/** Removes every folder tempDir made (call from an `after` hook). */
export function removeTempDirs(): void {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

/** A copy of a model folder that a test may damage. */
export function copyModel(src: string, prefix = 'model'): string {
  const dst = tempDir(prefix);
  fs.cpSync(src, dst, { recursive: true });
  return dst;
}

export function writeJson(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(value, null, 2));
}

/** Asserts `fn` throws (or rejects with) an MlxBatchError of `type` whose message matches every pattern. */
export async function assertMlxError(fn: () => unknown, type: ErrorType, ...patterns: (RegExp | string)[]): Promise<MlxBatchError> {
  let err: unknown;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof MlxBatchError, `expected an MlxBatchError(${type}), got ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
  assert.equal(err.type, type, `wrong error type; message: ${err.message}`);
  for (const p of patterns) {
    if (typeof p === 'string') assert.ok(err.message.includes(p), `message lacks "${p}": ${err.message}`);
    else assert.match(err.message, p);
  }
  return err;
}
