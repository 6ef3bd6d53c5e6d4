// Lists MLX models in the local Hugging Face cache for "Select Model". A small re-implementation
// of the server's listing on purpose: the extension never imports server code, and the list
// must work while no server runs (before the first start, or after a model failed to load).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface LocalModel {
  /** Repo id, e.g. mlx-community/Qwen2.5-Coder-0.5B-Instruct-4bit. */
  id: string;
  /** Snapshot folder. */
  path: string;
  modelType: string;
  /** e.g. "4-bit" or "" for full precision. */
  quantization: string;
}

/** $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub (as the server resolves it). */
export function hubDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  if (env.HUGGINGFACE_HUB_CACHE) return env.HUGGINGFACE_HUB_CACHE;
  if (env.HF_HOME) return path.join(env.HF_HOME, 'hub');
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'huggingface', 'hub');
}

const isDir = (p: string): boolean => {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
};

function snapshot(repoDir: string): string | undefined {
  const snaps = path.join(repoDir, 'snapshots');
  if (!isDir(snaps)) return undefined;
  try {
    const rev = fs.readFileSync(path.join(repoDir, 'refs', 'main'), 'utf8').trim();
    if (rev && isDir(path.join(snaps, rev))) return path.join(snaps, rev);
  } catch {
    // no refs/main: the newest snapshot
  }
  return fs.readdirSync(snaps).map((r) => path.join(snaps, r)).filter(isDir)
    .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)[0];
}

/** Why a folder is not a loadable MLX model, or undefined when it looks like one. */
export function modelFolderProblem(dir: string): string | undefined {
  if (!isDir(dir)) return `${dir} is not a folder`;
  let files: string[];
  try {
    files = fs.readdirSync(dir);
  } catch (e) {
    return `cannot read ${dir}: ${(e as Error).message}`;
  }
  if (!files.includes('config.json')) return 'it has no config.json';
  if (!files.some((f) => f.endsWith('.safetensors'))) return 'it has no .safetensors weights';
  if (!files.includes('tokenizer.json')) return 'it has no tokenizer.json';
  return undefined;
}

function describe(dir: string): { modelType: string; quantization: string } | undefined {
  try {
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    if (typeof config.model_type !== 'string') return undefined;
    const q = (config.quantization ?? config.quantization_config) as { bits?: unknown } | undefined;
    return { modelType: config.model_type, quantization: typeof q?.bits === 'number' ? `${q.bits}-bit` : '' };
  } catch {
    return undefined;
  }
}

/** MLX-layout models in the cache; `mlx-community` ones first, then by id. */
export function listLocalModels(hub = hubDir()): LocalModel[] {
  if (!isDir(hub)) return [];
  const out: LocalModel[] = [];
  for (const entry of fs.readdirSync(hub)) {
    if (!entry.startsWith('models--')) continue;
    const dir = snapshot(path.join(hub, entry));
    if (!dir || modelFolderProblem(dir)) continue;
    const d = describe(dir);
    if (!d) continue;
    out.push({ id: entry.slice('models--'.length).split('--').join('/'), path: dir, ...d });
  }
  const rank = (m: LocalModel) => (m.id.startsWith('mlx-community/') ? 0 : 1);
  return out.sort((a, b) => rank(a) - rank(b) || a.id.localeCompare(b.id));
}
