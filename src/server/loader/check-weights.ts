// Compares the checkpoint's tensors with the parameters the model module declares: missing
// tensors, unexpected ones and shape mismatches, each named in the error.
import { MlxBatchError } from '../../shared/errors';
import { mx, type MxArray, type nn } from '../mlx';

function toSnakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (ch, i: number) => (i ? '_' : '') + ch.toLowerCase());
}

/** The module's parameters as checkpoint names (snake_case, dotted) -> array. */
export function flattenParameters(module: nn.Module): Map<string, MxArray> {
  const out = new Map<string, MxArray>();
  const walk = (node: unknown, prefix: string) => {
    if (node instanceof mx.array) {
      out.set(prefix, node);
    } else if (Array.isArray(node)) {
      node.forEach((v, i) => walk(v, prefix ? `${prefix}.${i}` : String(i)));
    } else if (typeof node === 'object' && node !== null) {
      for (const [k, v] of Object.entries(node)) walk(v, prefix ? `${prefix}.${toSnakeCase(k)}` : toSnakeCase(k));
    }
  };
  walk(module.parameters(), '');
  return out;
}

function listSome(names: string[], max = 5): string {
  const shown = names.slice(0, max).join(', ');
  return names.length > max ? `${shown} (and ${names.length - max} more)` : shown;
}

/** Throws a clear error unless `weights` has exactly the names and shapes of `expected`. */
export function checkWeights(expected: Map<string, MxArray>, weights: Map<string, MxArray>, what: string): void {
  const missing = [...expected.keys()].filter((n) => !weights.has(n));
  if (missing.length > 0) {
    throw new MlxBatchError(
      'missing_tensors',
      `${what}: the weights lack ${missing.length} of the model's ${expected.size} tensors: ${listSome(missing)}. ` +
        'The files are incomplete or belong to a different model than config.json describes.',
      missing[0],
    );
  }
  const unexpected = [...weights.keys()].filter((n) => !expected.has(n));
  if (unexpected.length > 0) {
    throw new MlxBatchError(
      'unexpected_tensors',
      `${what}: the weights have ${unexpected.length} tensor(s) the model does not use: ${listSome(unexpected)}. ` +
        'config.json probably describes a different architecture than the weights.',
      unexpected[0],
    );
  }
  const wrong: string[] = [];
  for (const [name, want] of expected) {
    const got = (weights.get(name) as MxArray).shape;
    if (got.length !== want.shape.length || got.some((v, i) => v !== want.shape[i])) {
      wrong.push(`${name}: expected [${want.shape.join(', ')}], got [${got.join(', ')}]`);
    }
  }
  if (wrong.length > 0) {
    throw new MlxBatchError('shape_mismatch', `${what}: ${wrong.length} tensor(s) have the wrong shape for config.json: ${listSome(wrong, 3)}`, wrong[0].split(':')[0]);
  }
}
