// Is node_modules what package-lock.json says? Every package the lock file lists for this
// platform must be installed at its locked version. An interrupted `npm ci` or `npm install`
// leaves some missing or half-written: set-up then reinstalls instead of failing later.
// Usage: node scripts/lib/check-node-modules.mjs [DIR]  (exit 0: complete; 1: not, with reasons)
import fs from 'node:fs';
import path from 'node:path';

/** Lock-file entries this platform installs (other platforms' optional binaries are skipped). */
function wanted(lock) {
  const matches = (list, value) => {
    if (!list) return true;
    const allow = list.filter((v) => !v.startsWith('!'));
    if (list.includes(`!${value}`)) return false;
    return allow.length === 0 || allow.includes(value);
  };
  return Object.entries(lock.packages ?? {}).filter(([key, meta]) => key.startsWith('node_modules/') && !meta.link
    && !(meta.optional && !(matches(meta.os, process.platform) && matches(meta.cpu, process.arch))));
}

/** What is wrong with `dir`'s node_modules, one line per package (empty: complete). */
export function problems(dir) {
  const lockFile = path.join(dir, 'package-lock.json');
  if (!fs.existsSync(lockFile)) return [];
  if (!fs.existsSync(path.join(dir, 'node_modules'))) return ['node_modules is missing'];
  // npm writes its record of the tree last: without it the install did not finish.
  const out = fs.existsSync(path.join(dir, 'node_modules', '.package-lock.json')) ? [] : ['node_modules/.package-lock.json is missing (npm did not finish)'];
  for (const [key, meta] of wanted(JSON.parse(fs.readFileSync(lockFile, 'utf8')))) {
    const manifest = path.join(dir, key, 'package.json');
    let version;
    try {
      version = JSON.parse(fs.readFileSync(manifest, 'utf8')).version;
    } catch {
      out.push(`${key.slice('node_modules/'.length)}: missing or unreadable package.json`);
      continue;
    }
    if (meta.version && version !== meta.version) out.push(`${key.slice('node_modules/'.length)}: ${version} installed, ${meta.version} locked`);
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const found = problems(path.resolve(process.argv[2] ?? '.'));
  if (found.length) {
    console.log(`${found.length} package(s) not as package-lock.json says: ${found.slice(0, 5).join('; ')}${found.length > 5 ? '; ...' : ''}`);
    process.exit(1);
  }
}
