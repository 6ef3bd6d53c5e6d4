// The reference's side of a model folder, written and read by the test itself: config.json and
// model.safetensors with seeded random weights, named and shaped from the raw config by this
// file's own knowledge of the Hugging Face layout; then the arguments read from the raw JSON
// (snake_case, no defaults) and the weights read back by a minimal safetensors reader. The
// project's config parser and weight loader see only the files, so a bug there cannot hide on
// both sides of the comparison.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ReferenceArgs, Weights } from './transformer';

type RawConfig = Record<string, unknown>;

function num(c: RawConfig, key: string): number {
  const v = c[key];
  if (typeof v !== 'number') throw new Error(`reference: config.json needs a number "${key}" (the reference applies no defaults)`);
  return v;
}

/** ReferenceArgs from config.json's own fields. */
export function readReferenceArgs(c: RawConfig): ReferenceArgs {
  const heads = num(c, 'num_attention_heads');
  const hidden = num(c, 'hidden_size');
  if (typeof c.tie_word_embeddings !== 'boolean') throw new Error('reference: config.json needs "tie_word_embeddings"');
  return {
    hiddenSize: hidden,
    numHiddenLayers: num(c, 'num_hidden_layers'),
    numAttentionHeads: heads,
    numKeyValueHeads: c.num_key_value_heads === undefined ? heads : num(c, 'num_key_value_heads'),
    headDim: c.head_dim === undefined ? hidden / heads : num(c, 'head_dim'),
    vocabSize: num(c, 'vocab_size'),
    rmsNormEps: num(c, 'rms_norm_eps'),
    ropeTheta: num(c, 'rope_theta'),
    ropeScaling: (c.rope_scaling ?? undefined) as Record<string, unknown> | undefined,
    tieWordEmbeddings: c.tie_word_embeddings,
    qkNorm: c.model_type === 'qwen3',
  };
}

/** Tensor names and shapes of a llama / qwen2 / qwen3 checkpoint with this config. */
export function checkpointLayout(c: RawConfig): [string, number[]][] {
  const a = readReferenceArgs(c);
  const d = a.hiddenSize;
  const q = a.numAttentionHeads * a.headDim;
  const kv = a.numKeyValueHeads * a.headDim;
  const f = num(c, 'intermediate_size');
  const qkvBias = c.model_type === 'qwen2' || c.attention_bias === true;
  const out: [string, number[]][] = [['model.embed_tokens.weight', [a.vocabSize, d]]];
  for (let l = 0; l < a.numHiddenLayers; l++) {
    const p = `model.layers.${l}.`;
    out.push([`${p}input_layernorm.weight`, [d]], [`${p}post_attention_layernorm.weight`, [d]]);
    out.push([`${p}self_attn.q_proj.weight`, [q, d]], [`${p}self_attn.k_proj.weight`, [kv, d]], [`${p}self_attn.v_proj.weight`, [kv, d]]);
    if (qkvBias) out.push([`${p}self_attn.q_proj.bias`, [q]], [`${p}self_attn.k_proj.bias`, [kv]], [`${p}self_attn.v_proj.bias`, [kv]]);
    out.push([`${p}self_attn.o_proj.weight`, [d, q]]);
    if (c.attention_bias === true) out.push([`${p}self_attn.o_proj.bias`, [d]]);
    if (a.qkNorm) out.push([`${p}self_attn.q_norm.weight`, [a.headDim]], [`${p}self_attn.k_norm.weight`, [a.headDim]]);
    out.push([`${p}mlp.gate_proj.weight`, [f, d]], [`${p}mlp.up_proj.weight`, [f, d]], [`${p}mlp.down_proj.weight`, [d, f]]);
  }
  out.push(['model.norm.weight', [d]]);
  if (!a.tieWordEmbeddings) out.push(['lm_head.weight', [a.vocabSize, d]]);
  return out;
}

/** Seeded normal numbers (mulberry32 + Box-Muller), rounded to float32 by the caller. */
function normals(seed: number): () => number {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** Random weights: norm weights near 1, biases small, embeddings N(0, 1), projections N(0, 1/fan_in). */
function randomTensor(name: string, shape: number[], next: () => number): Float32Array {
  const n = shape.reduce((x, y) => x * y, 1);
  const scale = name.includes('norm') ? 0.2 : name.endsWith('.bias') ? 0.1 : name.includes('embed_tokens') ? 1 : 1 / Math.sqrt(shape[shape.length - 1]);
  const base = name.includes('norm') ? 1 : 0;
  return Float32Array.from({ length: n }, () => base + scale * next());
}

/** Writes a safetensors file of F32 tensors: 8-byte header length, header JSON, data. */
function writeSafetensors(file: string, tensors: [string, number[], Float32Array][]): void {
  const header: Record<string, unknown> = { __metadata__: { format: 'mlx' } };
  let offset = 0;
  for (const [name, shape, data] of tensors) {
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  fs.writeFileSync(file, Buffer.concat([len, json, ...tensors.map(([, , d]) => Buffer.from(d.buffer, d.byteOffset, d.byteLength))]));
}

/** Reads every tensor of an F32 safetensors file as float64. */
export function readSafetensors(file: string): Weights {
  const bytes = fs.readFileSync(file);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const start = 8 + headerLength;
  const out: Weights = new Map();
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (t.dtype !== 'F32') throw new Error(`reference: ${name} is ${t.dtype}; this reader takes F32`);
    const [from, to] = t.data_offsets;
    const copy = bytes.subarray(start + from, start + to);
    const f32 = new Float32Array(copy.buffer.slice(copy.byteOffset, copy.byteOffset + copy.byteLength));
    if (f32.length !== t.shape.reduce((x, y) => x * y, 1)) throw new Error(`reference: ${name} holds ${f32.length} values for shape ${t.shape}`);
    out.set(name, { data: Float64Array.from(f32), shape: t.shape });
  }
  return out;
}

/** A temporary model folder (config.json, model.safetensors, a placeholder tokenizer.json) with seeded random weights. */
export function writeModelFolder(config: RawConfig, seed: number): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlx-batch-reference-'));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  // The loader asks for a tokenizer file; the forward pass never reads it.
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify({ version: '1.0', model: { type: 'WordLevel', vocab: {}, unk_token: '' } }));
  const next = normals(seed);
  writeSafetensors(path.join(dir, 'model.safetensors'), checkpointLayout(config).map(([name, shape]) => [name, shape, randomTensor(name, shape, next)]));
  return dir;
}
