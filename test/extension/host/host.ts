// Helpers for tests that run inside a real VS Code extension host (see index.ts). Outside one
// (plain mocha) `vscode` cannot be loaded: the suites then fail, naming the tier that runs them.
import type * as VSCode from 'vscode';
import type { MlxBatchApi } from '../../../src/extension/extension';

export const EXTENSION_ID = 'mlx-batch.mlx-batch';

export function hostVscode(): typeof VSCode | undefined {
  try {
    // A static import would fail to load outside the extension host.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('vscode') as typeof VSCode;
  } catch {
    return undefined;
  }
}

export async function activeApi(vscode: typeof VSCode): Promise<MlxBatchApi> {
  const ext = vscode.extensions.getExtension<MlxBatchApi>(EXTENSION_ID);
  if (!ext) throw new Error(`extension ${EXTENSION_ID} is not installed in this host`);
  return ext.activate();
}

export async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 180_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
