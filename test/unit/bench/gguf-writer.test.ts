import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GGUF_MAGIC, gguf, ggufLayout, writeGguf, type GgufTensor, type GgufValue } from '../../../bench/lib/gguf-writer';
import { llamaVocab, permuteForRope } from '../../../bench/lib/llama-gguf';

// An independent GGUF v3 reader, as llama.cpp's gguf.cpp parses the file.
interface ReadTensor {
  name: string;
  ne: number[];
  type: number;
  offset: number;
}

function readGguf(buf: Buffer): { version: number; metadata: Map<string, unknown>; tensors: ReadTensor[]; dataStart: number } {
  let p = 0;
  const u32 = (): number => ((p += 4), buf.readUInt32LE(p - 4));
  const u64 = (): number => ((p += 8), Number(buf.readBigUInt64LE(p - 8)));
  const str = (): string => {
    const n = u64();
    p += n;
    return buf.toString('utf8', p - n, p);
  };
  const item = (type: number): unknown => {
    switch (type) {
      case 0: return buf.readUInt8(p++);
      case 1: return buf.readInt8(p++);
      case 2: return ((p += 2), buf.readUInt16LE(p - 2));
      case 3: return ((p += 2), buf.readInt16LE(p - 2));
      case 4: return u32();
      case 5: return ((p += 4), buf.readInt32LE(p - 4));
      case 6: return ((p += 4), buf.readFloatLE(p - 4));
      case 7: return buf.readUInt8(p++) !== 0;
      case 8: return str();
      case 9: {
        const t = u32();
        return Array.from({ length: u64() }, () => item(t));
      }
      case 10: return ((p += 8), buf.readBigUInt64LE(p - 8));
      case 11: return ((p += 8), buf.readBigInt64LE(p - 8));
      case 12: return ((p += 8), buf.readDoubleLE(p - 8));
      default: throw new Error(`bad GGUF type ${type} at ${p}`);
    }
  };
  assert.equal(u32(), GGUF_MAGIC);
  assert.equal(buf.toString('latin1', 0, 4), 'GGUF');
  const version = u32();
  const nTensors = u64();
  const nKv = u64();
  const metadata = new Map<string, unknown>();
  for (let i = 0; i < nKv; i++) {
    const key = str();
    metadata.set(key, item(u32()));
  }
  const tensors: ReadTensor[] = [];
  for (let i = 0; i < nTensors; i++) {
    const name = str();
    const nd = u32();
    const ne = Array.from({ length: nd }, () => u64());
    tensors.push({ name, ne, type: u32(), offset: u64() });
  }
  const alignment = (metadata.get('general.alignment') as number | undefined) ?? 32;
  return { version, metadata, tensors, dataStart: Math.ceil(p / alignment) * alignment };
}

const ramp = (n: number, k: number): Float32Array => Float32Array.from({ length: n }, (_, i) => i * k - 1.5);

function tmpFile(name: string): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-test-')), name);
}

describe('GGUF writer', () => {
  it('round-trips header, every metadata type, tensor infos and aligned data', () => {
    const metadata = new Map<string, GgufValue>([
      ['general.architecture', gguf.str('llama')],
      ['llama.block_count', gguf.u32(2)],
      ['llama.rope.freq_base', gguf.f32(10000)],
      ['signed', gguf.i32(-7)],
      ['flag', gguf.bool(true)],
      ['big', { type: 'uint64', value: 2n ** 40n + 3n }],
      ['neg64', { type: 'int64', value: -5n }],
      ['small', { type: 'int8', value: -3 }],
      ['double', { type: 'float64', value: 0.1 }],
      ['unicode', gguf.str('▁héllo ✓')],
      ['tokens', gguf.array('string', ['<unk>', '<s>', '▁a'])],
      ['scores', gguf.array('float32', [0, -1.5, 2.25])],
      ['types', gguf.array('int32', [2, 3, 1])],
    ]);
    // Sizes that are not multiples of 32 bytes, so padding between tensors is exercised.
    const tensors: GgufTensor[] = [
      { name: 'token_embd.weight', shape: [5, 3], data: () => ramp(15, 1) },
      { name: 'blk.0.attn_norm.weight', shape: [3], data: () => ramp(3, 0.5) },
      { name: 'blk.0.ffn_up.weight', shape: [7, 3], data: () => ramp(21, -2) },
    ];
    const file = tmpFile('t.gguf');
    const size = writeGguf(file, metadata, tensors);
    const buf = fs.readFileSync(file);
    assert.equal(buf.length, size);

    const r = readGguf(buf);
    assert.equal(r.version, 3);
    assert.deepEqual([...r.metadata.keys()], [...metadata.keys()]);
    assert.equal(r.metadata.get('general.architecture'), 'llama');
    assert.equal(r.metadata.get('llama.block_count'), 2);
    assert.equal(r.metadata.get('llama.rope.freq_base'), 10000);
    assert.equal(r.metadata.get('signed'), -7);
    assert.equal(r.metadata.get('flag'), true);
    assert.equal(r.metadata.get('big'), 2n ** 40n + 3n);
    assert.equal(r.metadata.get('neg64'), -5n);
    assert.equal(r.metadata.get('small'), -3);
    assert.equal(r.metadata.get('double'), 0.1);
    assert.equal(r.metadata.get('unicode'), '▁héllo ✓');
    assert.deepEqual(r.metadata.get('tokens'), ['<unk>', '<s>', '▁a']);
    assert.deepEqual(r.metadata.get('scores'), [0, -1.5, 2.25]);
    assert.deepEqual(r.metadata.get('types'), [2, 3, 1]);

    assert.deepEqual(r.tensors.map((t) => t.name), tensors.map((t) => t.name));
    // ggml's ne[] is the row-major shape reversed; type 0 is F32.
    assert.deepEqual(r.tensors.map((t) => t.ne), [[3, 5], [3], [3, 7]]);
    assert.ok(r.tensors.every((t) => t.type === 0));
    assert.equal(r.dataStart % 32, 0);
    assert.deepEqual(r.tensors.map((t) => t.offset), [0, 64, 96]);
    for (const [i, t] of r.tensors.entries()) {
      const n = t.ne.reduce((a, b) => a * b, 1);
      const got = new Float32Array(buf.buffer.slice(buf.byteOffset + r.dataStart + t.offset, buf.byteOffset + r.dataStart + t.offset + 4 * n));
      assert.deepEqual(got, tensors[i].data());
    }
    assert.equal(buf.length, r.dataStart + 96 + 4 * 21 + 12); // the last tensor is padded too
  });

  it('honours general.alignment and pads the header to it', () => {
    const metadata = new Map<string, GgufValue>([['general.alignment', gguf.u32(64)]]);
    const tensors = [{ name: 'a', shape: [3] }, { name: 'b', shape: [2, 2] }];
    const layout = ggufLayout(metadata, tensors);
    assert.equal(layout.alignment, 64);
    assert.equal(layout.header.length % 64, 0);
    assert.deepEqual(layout.offsets, [0, 64]);
    assert.equal(layout.dataBytes, 128);
    const file = tmpFile('a.gguf');
    writeGguf(file, metadata, [{ ...tensors[0], data: () => ramp(3, 1) }, { ...tensors[1], data: () => ramp(4, 2) }]);
    const buf = fs.readFileSync(file);
    const r = readGguf(buf);
    assert.equal(r.dataStart, layout.header.length);
    assert.equal(buf.readFloatLE(r.dataStart + 64 + 4), 0.5);
  });

  it('refuses data of the wrong size, duplicate names and a bad alignment', () => {
    const file = tmpFile('bad.gguf');
    assert.throws(() => writeGguf(file, new Map(), [{ name: 'x', shape: [2, 2], data: () => ramp(3, 1) }]), /3 values for shape \[2, 2\]/);
    assert.throws(() => ggufLayout(new Map(), [{ name: 'x', shape: [1] }, { name: 'x', shape: [1] }]), /given twice/);
    assert.throws(() => ggufLayout(new Map([['general.alignment', gguf.u32(12)]]), []), /alignment/);
    assert.throws(() => ggufLayout(new Map([['k', gguf.u32('x' as unknown as number)]]), []), /must be a number/);
  });
});

describe('llama GGUF conversion', () => {
  // RoPE on one head vector: Hugging Face rotates (x[i], x[i + d/2]); llama.cpp's llama arch (x[2i], x[2i + 1]).
  const ropeHalf = (x: number[], pos: number): number[] => {
    const h = x.length / 2;
    const out = [...x];
    for (let i = 0; i < h; i++) {
      const a = pos * Math.pow(10000, (-2 * i) / x.length);
      out[i] = x[i] * Math.cos(a) - x[i + h] * Math.sin(a);
      out[i + h] = x[i + h] * Math.cos(a) + x[i] * Math.sin(a);
    }
    return out;
  };
  const ropeInterleaved = (x: number[], pos: number): number[] => {
    const out = [...x];
    for (let i = 0; i < x.length / 2; i++) {
      const a = pos * Math.pow(10000, (-2 * i) / x.length);
      out[2 * i] = x[2 * i] * Math.cos(a) - x[2 * i + 1] * Math.sin(a);
      out[2 * i + 1] = x[2 * i + 1] * Math.cos(a) + x[2 * i] * Math.sin(a);
    }
    return out;
  };
  const matvec = (w: Float32Array, rows: number, cols: number, x: number[]): number[] =>
    Array.from({ length: rows }, (_, r) => x.reduce((s, v, c) => s + w[r * cols + c] * v, 0));

  it('permutes Q/K rows so interleaved RoPE gives the same attention scores as rotate-half RoPE', () => {
    const heads = 2, hd = 8, cols = 5, rows = heads * hd;
    const wq = Float32Array.from({ length: rows * cols }, (_, i) => Math.sin(i * 1.7));
    const wk = Float32Array.from({ length: rows * cols }, (_, i) => Math.cos(i * 0.9));
    const x1 = [0.3, -1, 0.5, 2, -0.7], x2 = [1, 0.2, -0.4, 0.1, 0.9];
    const pq = permuteForRope(wq, rows, cols, heads), pk = permuteForRope(wk, rows, cols, heads);
    for (let h = 0; h < heads; h++) {
      const head = (v: number[]): number[] => v.slice(h * hd, (h + 1) * hd);
      const dot = (a: number[], b: number[]): number => a.reduce((s, v, i) => s + v * b[i], 0);
      const hf = dot(ropeHalf(head(matvec(wq, rows, cols, x1)), 5), ropeHalf(head(matvec(wk, rows, cols, x2)), 2));
      const cpp = dot(ropeInterleaved(head(matvec(pq, rows, cols, x1)), 5), ropeInterleaved(head(matvec(pk, rows, cols, x2)), 2));
      assert.ok(Math.abs(hf - cpp) < 1e-4, `head ${h}: ${hf} vs ${cpp}`);
    }
    // A permutation: the same multiset of rows.
    assert.deepEqual([...pq].sort(), [...wq].sort());
    assert.notDeepEqual(pq, wq);
    assert.throws(() => permuteForRope(wq, rows, cols, 3), /cannot permute/);
  });

  it('builds a llama vocabulary with token types and padding', () => {
    const v = llamaVocab({
      model: { type: 'BPE', unk_token: '<unk>', vocab: { '<unk>': 0, '<s>': 1, '</s>': 2, '<0x0A>': 3, '▁the': 4, 'e': 5 } },
      added_tokens: [{ id: 0, content: '<unk>', special: true }, { id: 1, content: '<s>', special: true }, { id: 2, content: '</s>', special: true }],
    }, 8);
    assert.deepEqual(v.tokens, ['<unk>', '<s>', '</s>', '<0x0A>', '▁the', 'e', '[PAD6]', '[PAD7]']);
    assert.deepEqual(v.types, [2, 3, 3, 6, 1, 1, 5, 5]);
    assert.deepEqual(v.scores, [0, 0, 0, 0, -4, -5, 0, 0]);
    assert.throws(() => llamaVocab({ model: { type: 'BPE', vocab: { a: 9 } } }, 4), /past the model's vocab_size/);
  });
});
