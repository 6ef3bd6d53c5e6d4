// The command line that starts the local server: settings become arguments (the server never
// reads editor settings).
import path from 'node:path';
import type { Settings } from '../settings';
import { SHIPPED_MODEL_DIR } from '../../shared/shipped-model';
import { withMallocTunables } from '../../shared/malloc-tunables';
import { DEFAULT_SPECULATIVE, EDITOR_CACHE_REUSE } from '../../shared/server-defaults';

export interface LaunchSpec {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

export interface LaunchInputs {
  settings: Settings;
  /** Root folder of the installed extension (holds dist/ and models/). */
  extensionPath: string;
  tokenFile: string;
  /** The runtime running the extension host (process.execPath) and whether it is Electron. */
  execPath: string;
  isElectron: boolean;
  env: NodeJS.ProcessEnv;
  /** The server exits when this process (the extension host) is gone. */
  parentPid?: number;
}

/** The model the server loads: the setting, or the model shipped in `<extension>/models/default`. */
export function modelArgument(settings: Settings, extensionPath: string): string {
  return settings.model || path.join(extensionPath, SHIPPED_MODEL_DIR);
}

export function launchSpec(i: LaunchInputs): LaunchSpec {
  const s = i.settings.server;
  const args = [
    '--expose-gc',
    path.join(i.extensionPath, 'dist', 'server.js'),
    '--model', modelArgument(i.settings, i.extensionPath),
    '--host', '127.0.0.1',
    '--port', '0',
    '--max-batch', String(s.maxBatch),
    '--token-file', i.tokenFile,
    // stdin is a pipe ServerProcess holds and never writes: when this process dies, however it
    // dies, the kernel closes it and the server exits.
    '--watch-stdin',
  ];
  if (s.device !== 'auto') args.push('--device', s.device);
  if (s.kvBudget > 0) args.push('--kv-budget', String(s.kvBudget));
  if (!s.batching) args.push('--no-batching');
  if (s.speculative !== DEFAULT_SPECULATIVE) args.push('--speculative', s.speculative);
  // Repository context: when a piece leaves the ring, the pieces after it are reused, moved up.
  if (i.settings.completion.context.enabled) args.push('--cache-reuse', String(EDITOR_CACHE_REUSE));
  if (i.parentPid !== undefined) args.push('--parent-pid', String(i.parentPid));
  // glibc's malloc tunables for MLX's CPU buffers (src/shared/malloc-tunables.ts); read only at the start.
  const env: NodeJS.ProcessEnv = { ...withMallocTunables(i.env) };
  let command = s.nodePath;
  if (!command) {
    command = i.execPath;
    // The editor's own Electron binary runs plain Node scripts with this variable set.
    if (i.isElectron) env.ELECTRON_RUN_AS_NODE = '1';
  }
  return { command, args, env };
}
