// Reads and validates a .safetensors header ourselves before node-mlx sees the file: mx.load
// accepts a truncated file silently (garbage data) and crashes the process on a corrupt one.
import fs from 'node:fs';
import path from 'node:path';
import { MlxBatchError } from '../../shared/errors';

/** Bytes per element of every safetensors dtype. */
export const DTYPE_BYTES: Readonly<Record<string, number>> = {
  BOOL: 1, U8: 1, I8: 1, F8_E4M3: 1, F8_E5M2: 1,
  U16: 2, I16: 2, F16: 2, BF16: 2,
  U32: 4, I32: 4, F32: 4,
  U64: 8, I64: 8, F64: 8,
};

export interface TensorInfo {
  dtype: string;
  shape: number[];
  /** Byte range inside the data section (after the header). */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  file: string;
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
  /** Total file size in bytes. */
  fileBytes: number;
}

// Far above any real header (a 400-tensor model has ~40 KB), low enough to refuse garbage.
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

function corrupt(file: string, why: string): MlxBatchError {
  return new MlxBatchError(
    'corrupt_weights',
    `${path.basename(file)} is not a valid safetensors file: ${why} (${file}). ` +
      'Download the model again or recreate the file.',
    file,
  );
}

function isNatural(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Parses and checks the header of `file`: dtypes, shapes, offsets, and that no data is cut off. */
export function readSafetensorsHeader(file: string): SafetensorsHeader {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw new MlxBatchError('corrupt_weights', `cannot open weight file ${file}: ${(e as Error).message}`, file);
  }
  try {
    const fileBytes = fs.fstatSync(fd).size;
    if (fileBytes < 8) throw corrupt(file, `the file has ${fileBytes} bytes, fewer than the 8-byte header length`);
    const lenBuf = Buffer.alloc(8);
    fs.readSync(fd, lenBuf, 0, 8, 0);
    const headerLen = Number(lenBuf.readBigUInt64LE(0));
    if (headerLen === 0 || headerLen > MAX_HEADER_BYTES) throw corrupt(file, `implausible header length ${headerLen}`);
    if (8 + headerLen > fileBytes) {
      throw corrupt(file, `the header says it is ${headerLen} bytes but the file has only ${fileBytes} bytes (truncated)`);
    }
    const headerBuf = Buffer.alloc(headerLen);
    fs.readSync(fd, headerBuf, 0, headerLen, 8);
    let json: unknown;
    try {
      json = JSON.parse(headerBuf.toString('utf8'));
    } catch (e) {
      throw corrupt(file, `the header is not valid JSON (${(e as Error).message})`);
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw corrupt(file, 'the header is not a JSON object');
    return { file, fileBytes, ...checkEntries(file, json as Record<string, unknown>, fileBytes - 8 - headerLen) };
  } finally {
    fs.closeSync(fd);
  }
}

function checkEntries(file: string, json: Record<string, unknown>, dataBytes: number) {
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (entry === null) continue; // MLX writes null when there is no metadata
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw corrupt(file, '__metadata__ is not an object');
      metadata = entry as Record<string, string>;
      continue;
    }
    if (typeof entry !== 'object' || entry === null) throw corrupt(file, `tensor "${name}" has no description`);
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) throw corrupt(file, `tensor "${name}" has unknown dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape) || !shape.every(isNatural)) throw corrupt(file, `tensor "${name}" has an invalid shape ${JSON.stringify(shape)}`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNatural) || offsets[0] > offsets[1]) {
      throw corrupt(file, `tensor "${name}" has invalid data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    const expected = (shape as number[]).reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
    if (end - begin !== expected) {
      throw corrupt(file, `tensor "${name}" (${dtype} [${shape.join(', ')}]) should take ${expected} bytes but its data_offsets span ${end - begin}`);
    }
    if (end > dataBytes) {
      throw corrupt(file, `tensor "${name}" ends at byte ${end} of the data but the file holds only ${dataBytes} data bytes (truncated)`);
    }
    tensors.set(name, { dtype, shape: shape as number[], begin, end });
  }
  // The spec: the data section is covered exactly, without holes or overlaps.
  const ranges = [...tensors.entries()].sort((a, b) => a[1].begin - b[1].begin || a[1].end - b[1].end);
  let pos = 0;
  for (const [name, t] of ranges) {
    if (t.begin !== pos) throw corrupt(file, `tensor "${name}" starts at byte ${t.begin}, expected ${pos} (overlapping or missing data)`);
    pos = t.end;
  }
  return { tensors, metadata };
}
