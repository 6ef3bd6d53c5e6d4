// The training corpus: permissively licensed TypeScript and JavaScript that npm packages ship
// in node_modules, deduplicated, with a deterministic held-out split by file.
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { MlxBatchError } from '../shared/errors';
import { readJsonObject } from '../server/json-file';
import { fnv1a } from '../shared/rng';
import { scanHeldOutCopies } from './held-out-copies';

export const PERMISSIVE_LICENSES = ['MIT', 'Apache-2.0', 'ISC', 'BSD-2-Clause', 'BSD-3-Clause', 'BlueOak-1.0.0', '0BSD'];

export interface SourceFile {
  /** Path relative to node_modules, e.g. `typescript/lib/lib.es5.d.ts`. */
  path: string;
  pkg: string;
  version: string;
  license: string;
  text: string;
}

export interface Corpus {
  train: SourceFile[];
  heldOut: SourceFile[];
  /** Training files left out as copies of held-out ones (with `dropHeldOutCopies`). */
  droppedCopies: number;
}

export interface CorpusOptions {
  /** The node_modules folder to read; only packages its sibling package-lock.json lists. */
  root: string;
  /** Stop adding files past this many bytes (files are taken in a fixed order). */
  maxBytes: number;
  /** Share of files (0..1) that go to the held-out split, chosen by a hash of the path. */
  heldOutShare: number;
  /** Leave out training files that are copies of a held-out file (bundles, vendored modules); see held-out-copies.ts. */
  dropHeldOutCopies?: boolean;
}

const EXTENSIONS = ['.d.ts', '.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'];

/** Minified or generated files teach nothing an editor user wants. */
function looksHandWritten(text: string): boolean {
  if (text.length < 300 || text.length > 3_000_000) return false;
  const lines = text.split('\n');
  const longChars = lines.reduce((n, l) => n + (l.length > 300 ? l.length : 0), 0);
  return longChars < 0.05 * text.length && text.length / lines.length < 90 && !text.includes('\u0000');
}

function licenseOf(pkgJson: Record<string, unknown>): string {
  const l = pkgJson.license;
  if (typeof l === 'string') return l;
  if (l && typeof l === 'object' && typeof (l as { type?: unknown }).type === 'string') return (l as { type: string }).type;
  return 'UNKNOWN';
}

interface Pkg { name: string; version: string; license: string }

/** `node_modules/x` paths the lock file lists, or undefined when there is no lock file. */
function lockedPackages(root: string): Set<string> | undefined {
  const lock = path.join(root, '..', 'package-lock.json');
  if (!fs.existsSync(lock)) return undefined;
  const j = readJsonObject(lock) as { packages?: Record<string, unknown> };
  return new Set(Object.keys(j.packages ?? {}).map((k) => k.replace(/^node_modules\//, '')));
}

function walk(dir: string, rel: string, pkg: Pkg | undefined, out: Omit<SourceFile, 'text'>[], locked: Set<string> | undefined): void {
  let current = pkg;
  const manifest = path.join(dir, 'package.json');
  if (locked && !pkg && rel && !rel.startsWith('@') && !locked.has(rel)) return;
  if (locked && !pkg && rel.startsWith('@') && rel.includes('/') && !locked.has(rel)) return;
  if (fs.existsSync(manifest)) {
    try {
      const j = readJsonObject(manifest);
      if (typeof j.name === 'string' && typeof j.version === 'string') current = { name: j.name, version: j.version, license: licenseOf(j) };
    } catch { /* a broken manifest keeps the enclosing package */ }
  }
  const entries = fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const childRel = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) {
      if (e.name.startsWith('.') || e.name === 'test' || e.name === 'tests' || e.name === '__tests__') continue;
      walk(path.join(dir, e.name), childRel, current, out, locked);
    } else if (e.isFile() && current && EXTENSIONS.some((x) => e.name.endsWith(x)) && !e.name.includes('.min.')) {
      out.push({ path: childRel, pkg: current.name, version: current.version, license: current.license });
    }
  }
}

/**
 * Packages ship one module several times (`src/x.ts`, `x.d.ts`, `x.d.mts`, `x.js`): all of them
 * share this key (package and name up to the first dot) and so land in the same split, keeping
 * near-copies out of the held-out files.
 */
export function moduleKey(f: Omit<SourceFile, 'text'>): string {
  const base = f.path.slice(f.path.lastIndexOf('/') + 1);
  return `${f.pkg}:${base.slice(0, base.indexOf('.') < 0 ? base.length : base.indexOf('.'))}`;
}

/** Reads the corpus; the same node_modules and options give the same files and split. */
export function collectCorpus(opts: CorpusOptions): Corpus {
  if (!fs.existsSync(opts.root)) throw new MlxBatchError('validation', `corpus folder ${opts.root} does not exist (run npm install first)`);
  const found: Omit<SourceFile, 'text'>[] = [];
  walk(opts.root, '', undefined, found, lockedPackages(opts.root));
  // Type declarations first (the densest code), then sources, then JavaScript.
  const rank = (p: string) => (p.endsWith('.d.ts') ? 0 : /\.[mc]?ts$/.test(p) ? 1 : 2);
  found.sort((a, b) => rank(a.path) - rank(b.path) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const seen = new Set<string>();
  const corpus: Corpus = { train: [], heldOut: [], droppedCopies: 0 };
  let bytes = 0;
  for (const f of found) {
    if (!PERMISSIVE_LICENSES.includes(f.license)) continue;
    const text = fs.readFileSync(path.join(opts.root, f.path), 'utf8').replace(/\r\n/g, '\n');
    if (!looksHandWritten(text)) continue;
    const digest = createHash('sha1').update(text).digest('hex');
    if (seen.has(digest)) continue;
    seen.add(digest);
    if (bytes + text.length > opts.maxBytes) continue;
    bytes += text.length;
    const heldOut = fnv1a(moduleKey(f)) / 4294967296 < opts.heldOutShare;
    (heldOut ? corpus.heldOut : corpus.train).push({ ...f, text });
  }
  if (opts.dropHeldOutCopies) {
    const { copies } = scanHeldOutCopies(corpus.train, corpus.heldOut);
    corpus.train = corpus.train.filter((_, i) => !copies.has(i));
    corpus.droppedCopies = copies.size;
  }
  return corpus;
}

/** The `SOURCES.md` table: every package used, its version, license, files and bytes. */
export function sourcesMarkdown(corpus: Corpus): string {
  const rows = new Map<string, { version: string; license: string; files: number; bytes: number; heldOut: number }>();
  for (const [split, files] of [['train', corpus.train], ['held', corpus.heldOut]] as const) {
    for (const f of files) {
      const r = rows.get(f.pkg) ?? { version: f.version, license: f.license, files: 0, bytes: 0, heldOut: 0 };
      r.files++;
      r.bytes += f.text.length;
      if (split === 'held') r.heldOut++;
      rows.set(f.pkg, r);
    }
  }
  const names = [...rows.keys()].sort();
  const lines = ['| package | version | license | files (held out) | bytes |', '|---|---|---|---|---|'];
  for (const n of names) {
    const r = rows.get(n)!;
    lines.push(`| ${n} | ${r.version} | ${r.license} | ${r.files} (${r.heldOut}) | ${r.bytes} |`);
  }
  return lines.join('\n');
}
