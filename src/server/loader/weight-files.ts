// Which .safetensors files hold a model's weights: one `model.safetensors`, or shards listed by
// `model.safetensors.index.json`. Every file's header is validated; nothing is loaded yet.
import fs from 'node:fs';
import path from 'node:path';
import { MlxBatchError } from '../../shared/errors';
import { readJsonFile } from '../json-file';
import { readSafetensorsHeader, type SafetensorsHeader, type TensorInfo } from './safetensors';

export const INDEX_FILE = 'model.safetensors.index.json';

export interface WeightFiles {
  /** Validated headers, in load order. */
  files: SafetensorsHeader[];
  /** Every tensor name -> the file that holds it and its header entry. */
  tensors: Map<string, { file: string; info: TensorInfo }>;
  /** Sum of the files' sizes. */
  totalBytes: number;
}

function readIndex(dir: string): Record<string, string> {
  const indexPath = path.join(dir, INDEX_FILE);
  const index = readJsonFile(indexPath, { type: 'corrupt_weights' });
  const map = (index as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== 'object' || map === null || Array.isArray(map) || !Object.values(map).every((f) => typeof f === 'string')) {
    throw new MlxBatchError('corrupt_weights', `${INDEX_FILE} in ${dir} has no "weight_map" object of tensor name -> file`, indexPath);
  }
  const shards = [...new Set(Object.values(map as Record<string, string>))].sort();
  const missing = shards.filter((f) => !fs.existsSync(path.join(dir, f)));
  if (missing.length > 0) {
    throw new MlxBatchError(
      'corrupt_weights',
      `${INDEX_FILE} lists ${missing.length} shard file(s) that are not in ${dir}: ${missing.join(', ')}. The download is incomplete.`,
      path.join(dir, missing[0]),
    );
  }
  return map as Record<string, string>;
}

/** The weight files of the model in `dir`, with validated headers. */
export function findWeightFiles(dir: string): WeightFiles {
  let names: string[];
  let weightMap: Record<string, string> | undefined;
  if (fs.existsSync(path.join(dir, INDEX_FILE))) {
    weightMap = readIndex(dir);
    names = [...new Set(Object.values(weightMap))].sort();
  } else if (fs.existsSync(path.join(dir, 'model.safetensors'))) {
    names = ['model.safetensors'];
  } else {
    names = fs.readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort();
  }
  if (names.length === 0) {
    throw new MlxBatchError(
      'missing_tensors',
      `no weights in ${dir}: expected model.safetensors or shards listed in ${INDEX_FILE} (MLX models use safetensors; .bin/.gguf files are not supported)`,
      dir,
    );
  }
  const files = names.map((f) => readSafetensorsHeader(path.join(dir, f)));
  const tensors = new Map<string, { file: string; info: TensorInfo }>();
  for (const h of files) {
    for (const [name, info] of h.tensors) {
      const prev = tensors.get(name);
      if (prev) {
        throw new MlxBatchError('corrupt_weights', `tensor "${name}" is in both ${path.basename(prev.file)} and ${path.basename(h.file)}`, h.file);
      }
      tensors.set(name, { file: h.file, info });
    }
  }
  for (const [name, file] of Object.entries(weightMap ?? {})) {
    const found = tensors.get(name);
    if (!found || path.basename(found.file) !== file) {
      throw new MlxBatchError(
        'corrupt_weights',
        `${INDEX_FILE} places tensor "${name}" in ${file}, but ${found ? `it is in ${path.basename(found.file)}` : 'no shard holds it'}`,
        path.join(dir, file),
      );
    }
  }
  return { files, tensors, totalBytes: files.reduce((s, h) => s + h.fileBytes, 0) };
}
