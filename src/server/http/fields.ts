// Typed readers for request-body fields. Each throws a `validation` error that names the field,
// so a client sees exactly what to fix.
import { MlxBatchError } from '../../shared/errors';

type Body = Record<string, unknown>;

const fail = (param: string, what: string) => new MlxBatchError('validation', `"${param}" ${what}`, param);

const present = (body: Body, key: string) => body[key] !== undefined && body[key] !== null;

export function optNumber(body: Body, key: string, min: number, max: number): number | undefined {
  if (!present(body, key)) return undefined;
  const v = body[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw fail(key, `must be a number (got ${describe(v)})`);
  if (v < min || v > max) throw fail(key, `must be between ${min} and ${max} (got ${v})`);
  return v;
}

export function optInt(body: Body, key: string, min: number, max: number): number | undefined {
  const v = optNumber(body, key, min, max);
  if (v !== undefined && !Number.isInteger(v)) throw fail(key, `must be an integer (got ${v})`);
  return v;
}

/** `name`: the field as the client sees it, when it is nested (`stream_options.include_usage`). */
export function optBool(body: Body, key: string, name = key): boolean | undefined {
  if (!present(body, key)) return undefined;
  const v = body[key];
  if (typeof v !== 'boolean') throw fail(name, `must be true or false (got ${describe(v)})`);
  return v;
}

export function optString(body: Body, key: string, maxLength = Infinity): string | undefined {
  if (!present(body, key)) return undefined;
  const v = body[key];
  if (typeof v !== 'string') throw fail(key, `must be a string (got ${describe(v)})`);
  if (v.length > maxLength) throw fail(key, `must be at most ${maxLength} characters`);
  return v;
}

export function optEnum<T extends string>(body: Body, key: string, values: readonly T[], name = key): T | undefined {
  if (!present(body, key)) return undefined;
  const v = body[key];
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
    throw fail(name, `must be one of ${values.map((x) => `"${x}"`).join(', ')} (got ${describe(v)})`);
  }
  return v as T;
}

export function optObject(body: Body, key: string): Body | undefined {
  if (!present(body, key)) return undefined;
  const v = body[key];
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw fail(key, `must be an object (got ${describe(v)})`);
  return v as Body;
}

/** `stop`: a string or up to `max` strings, none empty. */
export function optStop(body: Body, key: string, max = 4): string[] {
  if (!present(body, key)) return [];
  const v = body[key];
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || !list.every((s) => typeof s === 'string')) throw fail(key, 'must be a string or an array of strings');
  if (list.length > max) throw fail(key, `may hold at most ${max} strings (got ${list.length})`);
  if (list.some((s) => s === '')) throw fail(key, 'must not contain an empty string');
  return list as string[];
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return v.length > 40 ? `a string` : JSON.stringify(v);
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}
