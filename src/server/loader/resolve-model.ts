// A model is named by a folder path or by a Hugging Face repo id (ORG/NAME) found in the
// local HF cache. An existing folder always wins over a repo id of the same spelling.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MlxBatchError } from '../../shared/errors';
import { cachedSnapshot, hfHubDir, repoCacheDir } from '../../shared/hf-cache';

export interface ResolvedModel {
  /** The folder that holds config.json and the weights. */
  dir: string;
  /** The repo id for a cached model, else the folder's name. */
  id: string;
  source: 'folder' | 'hf-cache';
}

const REPO_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p;
}

export function resolveModel(nameOrPath: string, env: NodeJS.ProcessEnv = process.env): ResolvedModel {
  const name = nameOrPath.trim();
  if (name === '') throw new MlxBatchError('model_not_found', 'no model given: pass a model folder or a Hugging Face repo id (ORG/NAME)');
  const dir = path.resolve(expandHome(name));
  if (fs.existsSync(dir)) {
    if (!fs.statSync(dir).isDirectory()) {
      throw new MlxBatchError('model_not_found', `${dir} is a file; a model is a folder with config.json, *.safetensors and tokenizer.json`, name);
    }
    return { dir, id: path.basename(dir), source: 'folder' };
  }
  if (REPO_ID.test(name) && !name.startsWith('.')) {
    const hub = hfHubDir(env);
    const snapshot = cachedSnapshot(name, hub);
    if (snapshot) return { dir: snapshot, id: name, source: 'hf-cache' };
    throw new MlxBatchError(
      'model_not_found',
      `model "${name}" is neither a folder nor in the Hugging Face cache (looked in ${dir} and ${repoCacheDir(name, hub)}). ` +
        `Download it first (e.g. \`huggingface-cli download ${name}\`) or pass the path of a model folder.`,
      name,
    );
  }
  throw new MlxBatchError('model_not_found', `model folder ${dir} does not exist`, name);
}
