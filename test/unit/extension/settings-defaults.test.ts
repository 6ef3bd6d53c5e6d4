// package.json's setting defaults and bounds agree with the sanitiser's fallbacks and clamps, and
// the server settings' defaults are the server's own (src/shared/server-defaults.ts).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { sanitizeSettings } from '../../../src/extension/settings';
import { DEFAULT_CHAT_REPETITION_PENALTY } from '../../../src/shared/server-defaults';
import { DEFAULT_BATCHING, DEFAULT_MAX_BATCH, DEFAULT_SPECULATIVE, SPECULATIVE_MODES } from '../../../src/shared/server-defaults';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');

interface Property { default?: unknown; minimum?: number; maximum?: number; type?: string; enum?: unknown[] }

function properties(): [string, Property][] {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { contributes: { configuration: unknown } };
  const c = pkg.contributes.configuration as { properties: Record<string, Property> } | { properties: Record<string, Property> }[];
  return (Array.isArray(c) ? c : [c]).flatMap((section) => Object.entries(section.properties));
}

/** The sanitised value of `mlxBatch.<key>` when the editor holds `raw` for it (undefined: unset). */
function sanitised(key: string, raw: unknown): unknown {
  const short = key.replace(/^mlxBatch\./, '');
  let v: unknown = sanitizeSettings((k) => (k === short ? raw : undefined));
  for (const part of short.split('.')) v = (v as Record<string, unknown>)[part];
  return v;
}

describe('extension settings: package.json agrees', () => {
  const props = properties();

  it('declares the settings', () => {
    assert.ok(props.length >= 20, `${props.length} settings`);
    for (const [key] of props) assert.ok(key.startsWith('mlxBatch.'), key);
  });

  it('gives every setting the default the sanitiser falls back to', () => {
    for (const [key, p] of props) assert.deepEqual(sanitised(key, undefined), p.default, key);
  });

  it('gives every number setting the bounds the sanitiser clamps to', () => {
    for (const [key, p] of props) {
      if (p.minimum !== undefined) assert.equal(sanitised(key, p.minimum - 1000), p.minimum, `${key} minimum`);
      if (p.maximum !== undefined) assert.equal(sanitised(key, p.maximum + 1000), p.maximum, `${key} maximum`);
    }
  });

  it('keeps every value an enum setting offers', () => {
    for (const [key, p] of props) for (const v of p.enum ?? []) assert.deepEqual(sanitised(key, v), v, `${key}: ${String(v)}`);
  });

  it('defaults the server settings to the server\'s own defaults', () => {
    const byKey = new Map(props);
    assert.equal(byKey.get('mlxBatch.server.maxBatch')?.default, DEFAULT_MAX_BATCH);
    assert.equal(byKey.get('mlxBatch.server.batching')?.default, DEFAULT_BATCHING);
    assert.equal(byKey.get('mlxBatch.chat.repetitionPenalty')?.default, DEFAULT_CHAT_REPETITION_PENALTY);
    assert.equal(byKey.get('mlxBatch.server.speculative')?.default, DEFAULT_SPECULATIVE);
    assert.deepEqual(byKey.get('mlxBatch.server.speculative')?.enum, [...SPECULATIVE_MODES]);
    assert.equal(byKey.get('mlxBatch.server.kvBudget')?.default, 0, '0: the server picks the budget (at most DEFAULT_KV_BUDGET_TOKENS)');
  });
});
