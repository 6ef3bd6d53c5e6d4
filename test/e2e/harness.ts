// A real VS Code (code-server) with the extension installed, driven by headless Chromium through
// playwright-core. Each test file starts its own editor (own user data, own server) and closes it.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const ROOT = process.cwd();
export const EXTENSION_ID = 'mlx-batch.mlx-batch';
/** Chromium or Chrome: CHROMIUM_PATH, else where Debian and macOS put them. */
function findChromium(): string | undefined {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome',
    '/Applications/Chromium.app/Contents/MacOS/Chromium', '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome'];
  return candidates.find((c): c is string => !!c && fs.existsSync(c));
}
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
// The README's screenshots are refreshed with MLX_BATCH_SCREENSHOTS=docs; ordinary runs keep them
// under test-results/ so a test run leaves the working tree clean.
export const SCREENSHOTS = process.env.MLX_BATCH_SCREENSHOTS === 'docs'
  ? path.join(ROOT, 'docs', 'screenshots')
  : path.join(ROOT, 'test-results', 'screenshots');
export const RESULTS = path.join(ROOT, 'test-results');

let installed: { pkg: string; chromium: string } | undefined;

/**
 * code-server (installed by `npm test` before this tier, or here when a test file runs alone) and
 * Chromium. A missing prerequisite fails the tier: a skipped editor tier proves nothing.
 */
export function prerequisites(): { pkg: string; chromium: string } {
  if (installed) return installed;
  let pkg = process.env.MLX_BATCH_CODE_SERVER;
  if (!pkg) {
    const r = spawnSync('bash', [path.join(ROOT, 'scripts', 'install-code-server.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 900_000 });
    pkg = r.stdout?.trim().split('\n').at(-1);
    if (r.status !== 0 || !pkg) throw new Error(`scripts/install-code-server.sh failed (exit ${r.status ?? r.signal}): see the lines above`);
  }
  const chromium = findChromium();
  if (!chromium) throw new Error('no Chromium or Chrome found (Debian: apt-get install chromium; macOS: install Google Chrome; or set CHROMIUM_PATH)');
  installed = { pkg, chromium };
  return installed;
}

/** The model the editor uses: the shipped default when it is built, else a tiny qwen2 fixture (has FIM tokens). */
export function modelPath(): string {
  const shipped = path.join(ROOT, 'models', 'default');
  if (fs.existsSync(path.join(shipped, 'config.json'))) return shipped;
  const out = path.join(ROOT, '.cache', 'models', 'qwen2-tiny');
  execFileSync(process.execPath, [path.join(ROOT, 'dist', 'cli.js'), 'make-model', '--arch', 'qwen2', '--size', 'tiny', '--out', out, '--if-missing'], { stdio: 'ignore' });
  return out;
}

function ensureBuilt(): void {
  const needed = ['dist/extension.js', 'dist/server.js', 'dist/cli.js', 'dist/webview/chat.js', 'dist/webview/benchmark.js'];
  if (needed.every((f) => fs.existsSync(path.join(ROOT, f)))) return;
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs')], { stdio: 'inherit', cwd: ROOT });
}

/** An extension folder that points into the repo (package.json copied, the rest linked). */
function stageExtension(dir: string): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const ext = path.join(dir, `${EXTENSION_ID}-${pkg.version}`);
  fs.mkdirSync(ext, { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(ext, 'package.json'));
  for (const f of ['dist', 'media', 'node_modules', 'models']) {
    if (fs.existsSync(path.join(ROOT, f))) fs.symlinkSync(path.join(ROOT, f), path.join(ext, f));
  }
  return ext;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Settings every test editor starts with: no trust dialog, short answers so the CPU keeps up. */
export function testSettings(model: string): Record<string, unknown> {
  return {
    'security.workspace.trust.enabled': false,
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'telemetry.telemetryLevel': 'off',
    'editor.inlineSuggest.enabled': true,
    'mlxBatch.model': model,
    'mlxBatch.server.maxBatch': 4,
    'mlxBatch.completion.maxTokens': 8,
    'mlxBatch.chat.maxTokens': 160,
    'mlxBatch.chat.temperature': 0,
    'mlxBatch.benchmark.concurrency': [1, 2],
    'mlxBatch.benchmark.maxTokens': 8,
    'mlxBatch.benchmark.editorDurationS': 10,
  };
}

export interface Editor {
  url: string;
  dir: string;
  userData: string;
  workspace: string;
  extensionPath: string;
  browser: Browser;
  codeServerLog: string;
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/** Starts code-server on a free port with the extension and a copy of the sample workspace. */
export async function startEditor(name: string, pkg: string, env: NodeJS.ProcessEnv = {}): Promise<Editor> {
  ensureBuilt();
  const model = modelPath();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `mlx-batch-e2e-${name}-`));
  const userData = path.join(dir, 'user-data');
  const extensions = path.join(dir, 'extensions');
  const workspace = path.join(dir, 'workspace');
  fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
  fs.writeFileSync(path.join(userData, 'User', 'settings.json'), JSON.stringify(testSettings(model), null, 2));
  const extensionPath = stageExtension(extensions);
  fs.cpSync(path.join(ROOT, 'test', 'fixtures', 'workspace'), workspace, { recursive: true });
  const port = await freePort();
  const codeServerLog = path.join(dir, 'code-server.log');
  const out = fs.openSync(codeServerLog, 'a');
  const proc: ChildProcess = spawn(process.execPath, [path.join(pkg, 'out', 'node', 'entry.js'),
    '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--user-data-dir', userData, '--extensions-dir', extensions,
    '--disable-telemetry', '--disable-update-check', workspace],
  { stdio: ['ignore', out, out], detached: true, env: { ...process.env, MLX_BATCH_TEST_REPORTER: 'spec', ...env } });
  fs.closeSync(out);
  const killGroup = () => { try { process.kill(-proc.pid!, 'SIGKILL'); } catch { /* already gone */ } };
  process.once('exit', killGroup);
  await waitUntil('code-server to listen', () => fs.readFileSync(codeServerLog, 'utf8').includes('HTTP server listening'), 60_000, () => proc.exitCode !== null && `code-server exited: ${fs.readFileSync(codeServerLog, 'utf8')}`);
  const browser = await chromium.launch({ executablePath: prerequisites().chromium, args: CHROMIUM_FLAGS });
  const url = `http://127.0.0.1:${port}`;
  return {
    url, dir, userData, workspace, extensionPath, browser, codeServerLog,
    newPage: () => browser.newPage({ viewport: { width: 1280, height: 800 } }),
    async close() {
      await browser.close().catch(() => undefined);
      proc.kill('SIGTERM');
      await Promise.race([new Promise((r) => proc.once('exit', r)), new Promise((r) => setTimeout(r, 5000))]);
      killGroup();
      process.removeListener('exit', killGroup);
    },
  };
}

/** Polls `probe` (every 100 ms) until it returns something truthy; `fail` may end the wait early. */
export async function waitUntil<T>(what: string, probe: () => T | Promise<T>, timeoutMs: number, fail?: () => string | false): Promise<NonNullable<T>> {
  const t0 = Date.now();
  for (;;) {
    const v = await probe();
    if (v) return v as NonNullable<T>;
    const f = fail?.();
    if (f) throw new Error(`${what}: ${f}`);
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The extension's Output channel log ("MLX Batch") of the most recent extension host. */
export function extensionLog(e: Editor): string | undefined {
  const logs = path.join(e.userData, 'logs');
  if (!fs.existsSync(logs)) return undefined;
  const found = fs.readdirSync(logs, { recursive: true }).map(String)
    .filter((f) => path.basename(f) === 'MLX Batch.log')
    .map((f) => path.join(logs, f))
    .sort((a, b) => fs.statSync(a).mtimeMs - fs.statSync(b).mtimeMs);
  return found.at(-1);
}

export interface ServerInfo { url: string; pid: number; token: string }

/** The local server the extension runs now: URL and pid from its log, token from its token file. */
export function serverInfo(e: Editor): ServerInfo | undefined {
  const log = extensionLog(e);
  if (!log) return undefined;
  const text = fs.readFileSync(log, 'utf8');
  const ready = [...text.matchAll(/server ready at (\S+) \(pid (\d+)\)/g)].at(-1);
  const tokenFile = [...text.matchAll(/--token-file (\S+)/g)].at(-1)?.[1];
  if (!ready || !tokenFile || !fs.existsSync(tokenFile)) return undefined;
  return { url: ready[1], pid: Number(ready[2]), token: fs.readFileSync(tokenFile, 'utf8').split('\n')[0].trim() };
}

export async function serverGet(s: ServerInfo, route: string): Promise<Response> {
  return fetch(s.url + route, { headers: { authorization: `Bearer ${s.token}` } });
}

/** A counter or gauge of one /metrics reading (summed over labels matching `labels`). */
export type Metrics = (name: string, labels?: string) => number;

/** One reading of the server's /metrics, so several values come from the same moment. */
export async function metrics(s: ServerInfo): Promise<Metrics> {
  const lines = (await (await serverGet(s, '/metrics')).text()).split('\n');
  return (name, labels = '') => {
    let sum = 0;
    for (const line of lines) {
      const m = /^(\w+)(\{[^}]*\})?\s+(\S+)$/.exec(line);
      if (m && m[1] === name && (m[2] ?? '').includes(labels)) sum += Number(m[3]);
    }
    return sum;
  };
}

/** One counter or gauge from the server's /metrics (summed over labels matching `labels`). */
export async function metric(s: ServerInfo, name: string, labels = ''): Promise<number> {
  return (await metrics(s))(name, labels);
}

export interface Occupation {
  /** Why the server may no longer be busy (a long request ended or failed), else false. */
  over(): string | false;
  /** Cancels the long requests and waits until their streams are closed. */
  release(): Promise<void>;
}

/**
 * Keeps the server busy with `n` streamed completions that ignore end-of-sequence and ask for as
 * many tokens as the context holds, as interactive as the editor's, so a later request waits.
 */
export function occupy(s: ServerInfo, n: number): Occupation {
  const abort = new AbortController();
  let over: string | false = false;
  const body = JSON.stringify({ prompt: 'The long request number', max_tokens: 1 << 20, ignore_eos: true, temperature: 0, stream: true, priority: 'interactive' });
  const streams = Array.from({ length: n }, async () => {
    try {
      const res = await fetch(`${s.url}/v1/completions`, {
        method: 'POST', body, signal: abort.signal,
        headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' },
      });
      if (!res.ok) throw new Error(`${res.status} ${await res.text()}`);
      await res.text();
      over ||= 'the server is no longer busy: a long request ended on its own';
    } catch (e) {
      if (!abort.signal.aborted) over ||= `a long request failed: ${(e as Error).message}`;
    }
  });
  return {
    over: () => over,
    async release() {
      abort.abort();
      await Promise.all(streams);
    },
  };
}

export function saveScreenshot(page: Page, feature: string): Promise<Buffer> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  return page.screenshot({ path: path.join(SCREENSHOTS, `${feature}.png`) });
}

/** After a failed test: the page's HTML, a screenshot, the extension's and code-server's logs. */
export async function saveFailure(e: Editor | undefined, page: Page | undefined, title: string): Promise<void> {
  const dir = path.join(RESULTS, title.replace(/[^\w.-]+/g, '-').slice(0, 80));
  fs.mkdirSync(dir, { recursive: true });
  if (page) {
    await page.content().then((html) => fs.writeFileSync(path.join(dir, 'page.html'), html), () => undefined);
    await page.screenshot({ path: path.join(dir, 'page.png') }).catch(() => undefined);
  }
  if (e) {
    const log = extensionLog(e);
    if (log) fs.copyFileSync(log, path.join(dir, 'server.log'));
    if (fs.existsSync(e.codeServerLog)) fs.copyFileSync(e.codeServerLog, path.join(dir, 'code-server.log'));
  }
  console.log(`    saved the page and logs of the failure in ${path.relative(ROOT, dir)}`);
}
