// The small model that ships with mlx-batch, used when no model is named: by the extension (an
// empty `mlxBatch.model`) and by the `mlx-batch` commands (no `--model`).
import fs from 'node:fs';
import path from 'node:path';

/** Where the shipped model lives, relative to the package root (the extension's folder). */
export const SHIPPED_MODEL_DIR = path.join('models', 'default');

/** The package root: the nearest folder at or above `from` that holds our package.json. */
export function packageRoot(from: string): string {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    try {
      if (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).name === 'mlx-batch') return dir;
    } catch {
      // no package.json here, or not ours: look further up
    }
    if (path.dirname(dir) === dir) return path.resolve(from);
  }
}

/** The shipped model's folder, for code running from `from` (a bundle in dist/ or a compiled file). */
export function shippedModel(from: string): string {
  return path.join(packageRoot(from), SHIPPED_MODEL_DIR);
}
