// Model folders on disk for the host tests, made from the model the editor runs (its files
// linked, not copied): a folder of another name, a Hugging Face cache, a model that cannot load.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const MODEL_FILES = ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'];

export function tempDir(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `mlx-batch-host-${name}-`));
}

/** `dir` holding links to the model files of `source` (and a changed config.json when given). */
export function linkedModel(source: string, dir: string, config?: (c: Record<string, unknown>) => Record<string, unknown>): string {
  fs.mkdirSync(dir, { recursive: true });
  for (const f of MODEL_FILES) {
    if (!fs.existsSync(path.join(source, f))) continue;
    if (f === 'config.json' && config) {
      fs.writeFileSync(path.join(dir, f), JSON.stringify(config(JSON.parse(fs.readFileSync(path.join(source, f), 'utf8')))));
    } else {
      fs.symlinkSync(path.join(source, f), path.join(dir, f));
    }
  }
  return dir;
}

/** A cached repo `models--ORG--NAME/snapshots/<rev>` with refs/main naming the revision, as the hub writes it. */
export function cachedRepo(hub: string, repoId: string, fill: (snapshot: string) => void): string {
  const repo = path.join(hub, `models--${repoId.split('/').join('--')}`);
  const snapshot = path.join(repo, 'snapshots', '0123abcd');
  fs.mkdirSync(snapshot, { recursive: true });
  fs.mkdirSync(path.join(repo, 'refs'), { recursive: true });
  fs.writeFileSync(path.join(repo, 'refs', 'main'), '0123abcd');
  fill(snapshot);
  return snapshot;
}
