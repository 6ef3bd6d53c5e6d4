// Converts an f32 llama model folder (Hugging Face / mlx-community layout) to a GGUF file that
// llama.cpp loads, as convert_hf_to_gguf.py does for LlamaForCausalLM: llama.cpp's tensor
// names, Q and K rows permuted for its interleaved RoPE, llama hyper-parameters, and a
// SentencePiece-style ("llama") vocabulary from tokenizer.json.
import fs from 'node:fs';
import path from 'node:path';
import { readSafetensorsHeader, type SafetensorsHeader } from '../../src/server/loader/safetensors';
import { gguf, writeGguf, type GgufTensor, type GgufValue } from './gguf-writer';

/**
 * Hugging Face stores each head's Q/K rows as [first halves | second halves] (rotate_half RoPE);
 * llama.cpp's llama arch rotates adjacent pairs. Row h*hd + 2i + j takes row h*hd + j*hd/2 + i
 * (convert_hf_to_gguf.py `permute`: reshape(n_head, 2, hd/2, cols).swapaxes(1, 2)).
 */
export function permuteForRope(w: Float32Array, rows: number, cols: number, nHead: number): Float32Array {
  const hd = rows / nHead;
  if (!Number.isInteger(hd) || hd % 2 !== 0) throw new Error(`cannot permute ${rows} rows into ${nHead} heads of even size`);
  const half = hd / 2;
  const out = new Float32Array(w.length);
  for (let h = 0; h < nHead; h++) {
    for (let i = 0; i < half; i++) {
      for (let j = 0; j < 2; j++) {
        const src = (h * hd + j * half + i) * cols;
        out.set(w.subarray(src, src + cols), (h * hd + 2 * i + j) * cols);
      }
    }
  }
  return out;
}

// llama.cpp's token types (llama_token_type): normal, unknown, control, user defined, unused, byte.
const TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

interface TokenizerJson {
  model: { type: string; vocab: Record<string, number>; unk_token?: string | null };
  added_tokens?: { id: number; content: string; special: boolean }[];
}

/** tokens / scores / token_type for `tokenizer.ggml.model = llama`, padded to `vocabSize`. */
export function llamaVocab(tokenizerJson: TokenizerJson, vocabSize: number): { tokens: string[]; scores: number[]; types: number[] } {
  const tokens: string[] = new Array<string>(vocabSize);
  const types: number[] = new Array<number>(vocabSize).fill(TOKEN_TYPE.unused);
  const scores: number[] = new Array<number>(vocabSize).fill(0);
  for (const [text, id] of Object.entries(tokenizerJson.model.vocab)) {
    if (id >= vocabSize) throw new Error(`token ${JSON.stringify(text)} has id ${id}, past the model's vocab_size ${vocabSize}`);
    tokens[id] = text;
    types[id] = /^<0x[0-9A-F]{2}>$/.test(text) ? TOKEN_TYPE.byte : TOKEN_TYPE.normal;
    // BPE merges follow id order in SentencePiece vocabularies: a lower id merges first.
    scores[id] = types[id] === TOKEN_TYPE.normal ? -id : 0;
  }
  for (const t of tokenizerJson.added_tokens ?? []) {
    if (t.id >= vocabSize) throw new Error(`added token ${JSON.stringify(t.content)} has id ${t.id}, past vocab_size ${vocabSize}`);
    tokens[t.id] = t.content;
    scores[t.id] = 0;
    types[t.id] = t.content === tokenizerJson.model.unk_token ? TOKEN_TYPE.unknown : t.special ? TOKEN_TYPE.control : TOKEN_TYPE.userDefined;
  }
  for (let i = 0; i < vocabSize; i++) if (tokens[i] === undefined) tokens[i] = `[PAD${i}]`;
  return { tokens, scores, types };
}

interface LlamaConfig {
  model_type: string;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads?: number;
  head_dim?: number;
  vocab_size: number;
  max_position_embeddings: number;
  rms_norm_eps: number;
  rope_theta?: number;
  rope_scaling?: unknown;
  tie_word_embeddings?: boolean;
  bos_token_id?: number;
  eos_token_id?: number | number[];
  quantization?: unknown;
}

function readTensor(header: SafetensorsHeader, name: string): { shape: number[]; data: Float32Array } {
  const info = header.tensors.get(name);
  if (!info) throw new Error(`${path.basename(header.file)} has no tensor ${name}`);
  if (info.dtype !== 'F32') throw new Error(`${name} is ${info.dtype}; this converter writes F32 models only`);
  const data = new Float32Array((info.end - info.begin) / 4);
  const fd = fs.openSync(header.file, 'r');
  try {
    const lenBuf = Buffer.alloc(8);
    fs.readSync(fd, lenBuf, 0, 8, 0);
    const dataStart = 8 + Number(lenBuf.readBigUInt64LE(0));
    fs.readSync(fd, new Uint8Array(data.buffer), 0, data.byteLength, dataStart + info.begin);
  } finally {
    fs.closeSync(fd);
  }
  return { shape: info.shape, data };
}

function weightHeaders(dir: string): Map<string, SafetensorsHeader> {
  const index = path.join(dir, 'model.safetensors.index.json');
  const files = fs.existsSync(index)
    ? [...new Set(Object.values((JSON.parse(fs.readFileSync(index, 'utf8')) as { weight_map: Record<string, string> }).weight_map))]
    : ['model.safetensors'];
  const byTensor = new Map<string, SafetensorsHeader>();
  for (const f of files) {
    const h = readSafetensorsHeader(path.join(dir, f));
    for (const name of h.tensors.keys()) byTensor.set(name, h);
  }
  return byTensor;
}

/** GGUF metadata of a llama config and its tokenizer.json. */
export function llamaGgufMetadata(name: string, config: LlamaConfig, tokenizerJson: TokenizerJson): Map<string, GgufValue> {
  const heads = config.num_attention_heads;
  const headDim = config.head_dim ?? config.hidden_size / heads;
  const vocab = llamaVocab(tokenizerJson, config.vocab_size);
  const firstId = (v: number | number[] | undefined, fallback: number): number => (Array.isArray(v) ? v[0] : v) ?? fallback;
  return new Map<string, GgufValue>([
    ['general.architecture', gguf.str('llama')],
    ['general.name', gguf.str(name)],
    ['general.file_type', gguf.u32(0)], // LLAMA_FTYPE_ALL_F32
    ['general.alignment', gguf.u32(32)],
    ['llama.vocab_size', gguf.u32(config.vocab_size)],
    ['llama.context_length', gguf.u32(config.max_position_embeddings)],
    ['llama.embedding_length', gguf.u32(config.hidden_size)],
    ['llama.block_count', gguf.u32(config.num_hidden_layers)],
    ['llama.feed_forward_length', gguf.u32(config.intermediate_size)],
    ['llama.attention.head_count', gguf.u32(heads)],
    ['llama.attention.head_count_kv', gguf.u32(config.num_key_value_heads ?? heads)],
    ['llama.attention.key_length', gguf.u32(headDim)],
    ['llama.attention.value_length', gguf.u32(headDim)],
    ['llama.rope.freq_base', gguf.f32(config.rope_theta ?? 10000)],
    ['llama.rope.dimension_count', gguf.u32(headDim)],
    ['llama.attention.layer_norm_rms_epsilon', gguf.f32(config.rms_norm_eps)],
    ['tokenizer.ggml.model', gguf.str('llama')],
    ['tokenizer.ggml.tokens', gguf.array('string', vocab.tokens)],
    ['tokenizer.ggml.scores', gguf.array('float32', vocab.scores)],
    ['tokenizer.ggml.token_type', gguf.array('int32', vocab.types)],
    ['tokenizer.ggml.bos_token_id', gguf.u32(firstId(config.bos_token_id, 1))],
    ['tokenizer.ggml.eos_token_id', gguf.u32(firstId(config.eos_token_id, 2))],
    ['tokenizer.ggml.unknown_token_id', gguf.u32(0)],
    ['tokenizer.ggml.add_bos_token', gguf.bool(true)],
    ['tokenizer.ggml.add_eos_token', gguf.bool(false)],
  ]);
}

/** Writes `outFile` from the f32 llama model in `modelDir`; returns its size in bytes. */
export function writeLlamaGguf(modelDir: string, outFile: string): number {
  const config = JSON.parse(fs.readFileSync(path.join(modelDir, 'config.json'), 'utf8')) as LlamaConfig;
  if (config.model_type !== 'llama') throw new Error(`model_type is ${config.model_type}; this converter handles llama`);
  if (config.quantization) throw new Error('the model is quantized; this converter writes F32 models only');
  if (config.rope_scaling) throw new Error('rope_scaling is not converted');
  const tokenizerJson = JSON.parse(fs.readFileSync(path.join(modelDir, 'tokenizer.json'), 'utf8')) as TokenizerJson;
  const headers = weightHeaders(modelDir);
  const heads = config.num_attention_heads;
  const kvHeads = config.num_key_value_heads ?? heads;

  const tensors: GgufTensor[] = [];
  const add = (ggufName: string, hfName: string, permuteHeads?: number): void => {
    const header = headers.get(hfName);
    if (!header) throw new Error(`${modelDir} has no tensor ${hfName}`);
    const shape = header.tensors.get(hfName)!.shape;
    tensors.push({
      name: ggufName,
      shape,
      data: () => {
        const t = readTensor(header, hfName);
        return permuteHeads ? permuteForRope(t.data, shape[0], shape[1], permuteHeads) : t.data;
      },
    });
  };
  add('token_embd.weight', 'model.embed_tokens.weight');
  for (let i = 0; i < config.num_hidden_layers; i++) {
    const p = `model.layers.${i}`;
    add(`blk.${i}.attn_norm.weight`, `${p}.input_layernorm.weight`);
    add(`blk.${i}.attn_q.weight`, `${p}.self_attn.q_proj.weight`, heads);
    add(`blk.${i}.attn_k.weight`, `${p}.self_attn.k_proj.weight`, kvHeads);
    add(`blk.${i}.attn_v.weight`, `${p}.self_attn.v_proj.weight`);
    add(`blk.${i}.attn_output.weight`, `${p}.self_attn.o_proj.weight`);
    add(`blk.${i}.ffn_norm.weight`, `${p}.post_attention_layernorm.weight`);
    add(`blk.${i}.ffn_gate.weight`, `${p}.mlp.gate_proj.weight`);
    add(`blk.${i}.ffn_up.weight`, `${p}.mlp.up_proj.weight`);
    add(`blk.${i}.ffn_down.weight`, `${p}.mlp.down_proj.weight`);
  }
  add('output_norm.weight', 'model.norm.weight');
  // Tied embeddings: no output.weight; llama.cpp then reads token_embd for the output layer.
  if (!config.tie_word_embeddings) add('output.weight', 'lm_head.weight');

  const metadata = llamaGgufMetadata(path.basename(modelDir), config, tokenizerJson);
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  const tmp = `${outFile}.tmp-${process.pid}`;
  try {
    const bytes = writeGguf(tmp, metadata, tensors);
    fs.renameSync(tmp, outFile);
    return bytes;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}
