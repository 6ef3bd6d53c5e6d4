// Stands in for the extension host: starts the server through the extension's own code path
// (launchSpec + ServerProcess, as backend.ts does, with this process as the parent pid), prints
// `PID <server pid>`, `URL <url>` and `READY`, streams one completion with the bearer token
// (printing `STREAMING` at its first data frame), and waits to be killed.
// argv[2]: the extension folder (holding dist/server.js), argv[3]: the model folder.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sanitizeSettings } from '../../../src/extension/settings';
import { launchSpec } from '../../../src/extension/supervisor/server-args';
import { ServerProcess } from '../../../src/extension/supervisor/server-process';
import { writeTokenFile } from '../../../src/extension/supervisor/token-file';

const [extensionPath, model] = process.argv.slice(2);
const settings = sanitizeSettings((k) => (k === 'model' ? model : undefined));
const { token, file } = writeTokenFile(fs.mkdtempSync(path.join(os.tmpdir(), 'mlx-batch-host-')));
const spec = launchSpec({ settings, extensionPath, tokenFile: file, execPath: process.execPath, isElectron: false, env: process.env, parentPid: process.pid });
let url = '';
const proc = new ServerProcess(spec, {
  log: () => undefined,
  ready: () => {
    process.stdout.write('READY\n');
    void stream();
  },
});
process.stdout.write(`PID ${proc.pid}\n`);
void proc.started.then((l) => {
  url = l.url;
  process.stdout.write(`URL ${url}\n`);
});

async function stream(): Promise<void> {
  const res = await fetch(`${url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ prompt: 'def main():', max_tokens: 3000, temperature: 0, stream: true }),
  });
  let first = true;
  for await (const chunk of res.body!) {
    if (first && Buffer.from(chunk).toString().includes('data: ')) {
      process.stdout.write('STREAMING\n');
      first = false;
    }
  }
}

setInterval(() => undefined, 1000);
