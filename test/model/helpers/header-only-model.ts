// Model folders whose safetensors files hold a real header and no data: the file is extended
// with truncate, so it is sparse and costs no disk. For the memory check, which must read
// headers only.
import fs from 'node:fs';
import path from 'node:path';
import { tensorSpecs } from '../../../src/server/fixtures';
import { DTYPE_BYTES } from '../../../src/server/loader/safetensors';

export interface HeaderOnlyOptions {
  dtype?: 'F32' | 'BF16';
  /** Tensors left out of the header (so a load that got past the memory check would fail on them). */
  omit?: string[];
}

/** Writes config.json, an empty tokenizer.json and a sparse model.safetensors for `config`; returns the weight file. */
export function writeHeaderOnlyModel(dir: string, config: Record<string, unknown>, opts: HeaderOnlyOptions = {}): string {
  const dtype = opts.dtype ?? 'F32';
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), '{}');
  const header: Record<string, unknown> = { __metadata__: { format: 'mlx' } };
  let offset = 0;
  for (const t of tensorSpecs(config)) {
    if (opts.omit?.includes(t.name)) continue;
    const bytes = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
    header[t.name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  const file = path.join(dir, 'model.safetensors');
  fs.writeFileSync(file, Buffer.concat([len, json]));
  fs.truncateSync(file, 8 + json.length + offset);
  return file;
}

/** A Llama 70B shape (80 layers, 8192 wide) in bf16: 141 GB declared, 282 GB as float32. */
export function llama70bConfig(): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 8192, intermediate_size: 28672,
    num_attention_heads: 64, num_key_value_heads: 8, num_hidden_layers: 80, vocab_size: 128256,
    max_position_embeddings: 8192, rms_norm_eps: 1e-5, rope_theta: 500000, tie_word_embeddings: false,
    torch_dtype: 'bfloat16',
  };
}
