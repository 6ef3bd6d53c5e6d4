// The local Hugging Face hub cache: `models--ORG--NAME/snapshots/<rev>/`, with `refs/main`
// naming the current revision. Read only; nothing is ever downloaded. Shared by the server's
// loader and the extension's "Select Model" (which must work while no server runs).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub. */
export function hfHubDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  if (env.HUGGINGFACE_HUB_CACHE) return env.HUGGINGFACE_HUB_CACHE;
  if (env.HF_HOME) return path.join(env.HF_HOME, 'hub');
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'huggingface', 'hub');
}

export function repoCacheDir(repoId: string, hubDir = hfHubDir()): string {
  return path.join(hubDir, `models--${repoId.split('/').join('--')}`);
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** The snapshot folder of a cached repo: the revision in refs/main, else the newest snapshot. */
export function cachedSnapshot(repoId: string, hubDir = hfHubDir()): string | undefined {
  const repoDir = repoCacheDir(repoId, hubDir);
  const snapshots = path.join(repoDir, 'snapshots');
  if (!isDir(snapshots)) return undefined;
  try {
    const rev = fs.readFileSync(path.join(repoDir, 'refs', 'main'), 'utf8').trim();
    if (rev && isDir(path.join(snapshots, rev))) return path.join(snapshots, rev);
  } catch {
    // no refs/main: fall back to the newest snapshot
  }
  const revs = fs.readdirSync(snapshots)
    .map((r) => path.join(snapshots, r))
    .filter(isDir)
    .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
  return revs[0];
}

export interface CachedModel {
  /** Repo id, e.g. mlx-community/Qwen2.5-Coder-0.5B-Instruct-4bit. */
  id: string;
  /** The snapshot folder to load. */
  path: string;
  modelType: string;
  /** Bytes of the snapshot's files (symlinks followed to their blobs). */
  sizeBytes: number;
  quantization?: { bits: number; groupSize: number };
}

function folderBytes(dir: string): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { recursive: true })) {
    try {
      const st = fs.statSync(path.join(dir, String(entry)));
      if (st.isFile()) total += st.size;
    } catch {
      // a dangling symlink (blob not downloaded) counts as nothing
    }
  }
  return total;
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

/** Models in the HF cache in the MLX layout: config.json with model_type, safetensors, tokenizer.json. */
export function listCachedModels(hubDir = hfHubDir()): CachedModel[] {
  if (!isDir(hubDir)) return [];
  const out: CachedModel[] = [];
  for (const entry of fs.readdirSync(hubDir)) {
    if (!entry.startsWith('models--')) continue;
    const id = entry.slice('models--'.length).split('--').join('/');
    const dir = cachedSnapshot(id, hubDir);
    if (!dir || modelFolderProblem(dir)) continue;
    let config: Record<string, unknown>;
    try {
      config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    } catch {
      continue;
    }
    if (typeof config.model_type !== 'string') continue;
    const q = (config.quantization ?? config.quantization_config) as { bits?: unknown; group_size?: unknown } | undefined;
    const quantization = typeof q?.bits === 'number' && typeof q.group_size === 'number' ? { bits: q.bits, groupSize: q.group_size } : undefined;
    out.push({ id, path: dir, modelType: config.model_type, sizeBytes: folderBytes(dir), quantization });
  }
  return out.sort((a, b) => a.id.localeCompare(b.id));
}
