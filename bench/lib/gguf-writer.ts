// A GGUF v3 writer (the file format llama.cpp loads), enough for F32 models: typed metadata,
// tensor infos, then tensor data, each aligned to `general.alignment` (default 32).
// Layout as in ggml-org/llama.cpp gguf-py/gguf/gguf_writer.py; little-endian only.
import fs from 'node:fs';

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian uint32
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;
export const GGML_TYPE_F32 = 0;

/** GGUF metadata value types (gguf.h `enum gguf_type`). */
export const GGUF_TYPE = {
  uint8: 0, int8: 1, uint16: 2, int16: 3, uint32: 4, int32: 5, float32: 6,
  bool: 7, string: 8, array: 9, uint64: 10, int64: 11, float64: 12,
} as const;

export type GgufNumberType = 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'float32' | 'uint64' | 'int64' | 'float64';
export type GgufItemType = GgufNumberType | 'bool' | 'string';

export type GgufValue =
  | { type: GgufNumberType; value: number | bigint }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'array'; itemType: GgufItemType; value: readonly (number | bigint | boolean | string)[] };

/** Shorthands for metadata values. */
export const gguf = {
  u32: (value: number): GgufValue => ({ type: 'uint32', value }),
  i32: (value: number): GgufValue => ({ type: 'int32', value }),
  f32: (value: number): GgufValue => ({ type: 'float32', value }),
  bool: (value: boolean): GgufValue => ({ type: 'bool', value }),
  str: (value: string): GgufValue => ({ type: 'string', value }),
  array: (itemType: GgufItemType, value: readonly (number | bigint | boolean | string)[]): GgufValue => ({ type: 'array', itemType, value }),
};

export interface GgufTensorInfo {
  name: string;
  /** Row-major shape (numpy / safetensors order); written reversed, as ggml's ne[] */
  shape: readonly number[];
}

export interface GgufTensor extends GgufTensorInfo {
  /** The tensor's F32 data, row-major; called once, when the tensor is written. */
  data: () => Float32Array;
}

export interface GgufLayout {
  /** Header, metadata and tensor infos, padded to the alignment: the data section starts after it. */
  header: Buffer;
  alignment: number;
  /** Offset of each tensor's data from the start of the data section (multiples of the alignment). */
  offsets: number[];
  /** Bytes of the data section, padding included. */
  dataBytes: number;
}

const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

class ByteSink {
  private readonly parts: Buffer[] = [];
  length = 0;

  push(b: Buffer): void {
    this.parts.push(b);
    this.length += b.length;
  }

  u32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.push(b);
  }

  u64(v: number | bigint): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.push(b);
  }

  str(s: string): void {
    const bytes = Buffer.from(s, 'utf8');
    this.u64(bytes.length);
    this.push(bytes);
  }

  item(type: GgufItemType, v: number | bigint | boolean | string): void {
    const b = Buffer.alloc(8);
    const n = (): number => {
      if (typeof v !== 'number') throw new TypeError(`GGUF ${type} value must be a number, got ${typeof v}`);
      return v;
    };
    switch (type) {
      case 'string':
        if (typeof v !== 'string') throw new TypeError(`GGUF string value must be a string, got ${typeof v}`);
        return this.str(v);
      case 'bool':
        if (typeof v !== 'boolean') throw new TypeError(`GGUF bool value must be a boolean, got ${typeof v}`);
        b.writeUInt8(v ? 1 : 0);
        return this.push(b.subarray(0, 1));
      case 'uint8': b.writeUInt8(n()); return this.push(b.subarray(0, 1));
      case 'int8': b.writeInt8(n()); return this.push(b.subarray(0, 1));
      case 'uint16': b.writeUInt16LE(n()); return this.push(b.subarray(0, 2));
      case 'int16': b.writeInt16LE(n()); return this.push(b.subarray(0, 2));
      case 'uint32': b.writeUInt32LE(n()); return this.push(b.subarray(0, 4));
      case 'int32': b.writeInt32LE(n()); return this.push(b.subarray(0, 4));
      case 'float32': b.writeFloatLE(n()); return this.push(b.subarray(0, 4));
      case 'float64': b.writeDoubleLE(n()); return this.push(b.subarray(0, 8));
      case 'uint64': b.writeBigUInt64LE(BigInt(v as number | bigint)); return this.push(b);
      case 'int64': b.writeBigInt64LE(BigInt(v as number | bigint)); return this.push(b);
    }
  }

  value(v: GgufValue): void {
    this.u32(GGUF_TYPE[v.type]);
    if (v.type !== 'array') return this.item(v.type, v.value);
    this.u32(GGUF_TYPE[v.itemType]);
    this.u64(v.value.length);
    for (const x of v.value) this.item(v.itemType, x);
  }

  concat(): Buffer {
    return Buffer.concat(this.parts, this.length);
  }
}

function alignmentOf(metadata: ReadonlyMap<string, GgufValue>): number {
  const a = metadata.get('general.alignment');
  if (!a) return GGUF_DEFAULT_ALIGNMENT;
  if (a.type !== 'uint32' || typeof a.value !== 'number' || a.value <= 0 || a.value % 8 !== 0) {
    throw new Error('general.alignment must be a uint32, a positive multiple of 8');
  }
  return a.value;
}

/** Encodes everything before the data section and places each tensor in it. */
export function ggufLayout(metadata: ReadonlyMap<string, GgufValue>, tensors: readonly GgufTensorInfo[]): GgufLayout {
  const alignment = alignmentOf(metadata);
  const names = new Set<string>();
  const sink = new ByteSink();
  sink.u32(GGUF_MAGIC);
  sink.u32(GGUF_VERSION);
  sink.u64(tensors.length);
  sink.u64(metadata.size);
  for (const [key, value] of metadata) {
    sink.str(key);
    sink.value(value);
  }
  const offsets: number[] = [];
  let offset = 0;
  for (const t of tensors) {
    if (names.has(t.name)) throw new Error(`GGUF tensor ${t.name} given twice`);
    names.add(t.name);
    if (t.shape.length < 1 || t.shape.length > 4) throw new Error(`GGUF tensor ${t.name} has ${t.shape.length} dimensions (1 to 4 allowed)`);
    sink.str(t.name);
    sink.u32(t.shape.length);
    for (const d of [...t.shape].reverse()) sink.u64(d);
    sink.u32(GGML_TYPE_F32);
    sink.u64(offset);
    offsets.push(offset);
    offset = alignUp(offset + 4 * t.shape.reduce((a, b) => a * b, 1), alignment);
  }
  const body = sink.concat();
  const header = Buffer.alloc(alignUp(body.length, alignment));
  body.copy(header);
  return { header, alignment, offsets, dataBytes: offset };
}

/** Writes a GGUF v3 file of F32 tensors, one tensor in memory at a time. Returns the file size. */
export function writeGguf(file: string, metadata: ReadonlyMap<string, GgufValue>, tensors: readonly GgufTensor[]): number {
  const layout = ggufLayout(metadata, tensors);
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, layout.header);
    let written = 0;
    for (const [i, t] of tensors.entries()) {
      const data = t.data();
      const count = t.shape.reduce((a, b) => a * b, 1);
      if (data.length !== count) throw new Error(`GGUF tensor ${t.name}: ${data.length} values for shape [${t.shape.join(', ')}]`);
      if (written < layout.offsets[i]) fs.writeSync(fd, Buffer.alloc(layout.offsets[i] - written));
      fs.writeSync(fd, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
      written = layout.offsets[i] + data.byteLength;
    }
    if (written < layout.dataBytes) fs.writeSync(fd, Buffer.alloc(layout.dataBytes - written));
  } finally {
    fs.closeSync(fd);
  }
  return layout.header.length + layout.dataBytes;
}
