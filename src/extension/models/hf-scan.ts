// Lists MLX models in the local Hugging Face cache for "Select Model", through the shared cache
// reader (src/shared/hf-cache.ts): the list must work while no server runs.
import { hfHubDir, listCachedModels, modelFolderProblem } from '../../shared/hf-cache';

export { modelFolderProblem };

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
export const hubDir = hfHubDir;

/** MLX-layout models in the cache; `mlx-community` ones first, then by id. */
export function listLocalModels(hub = hubDir()): LocalModel[] {
  const rank = (m: LocalModel) => (m.id.startsWith('mlx-community/') ? 0 : 1);
  return listCachedModels(hub)
    .map((m) => ({ id: m.id, path: m.path, modelType: m.modelType, quantization: m.quantization ? `${m.quantization.bits}-bit` : '' }))
    .sort((a, b) => rank(a) - rank(b) || a.id.localeCompare(b.id));
}
