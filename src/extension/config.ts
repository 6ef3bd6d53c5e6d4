// readConfiguration(): the editor's `mlxBatch.*` settings through the one sanitiser.
import * as vscode from 'vscode';
import { sanitizeSettings, type Settings } from './settings';

export const SECTION = 'mlxBatch';
/** SecretStorage key of the remote server's API key. */
export const REMOTE_KEY_SECRET = 'mlxBatch.remote.apiKey';

export function readConfiguration(): Settings {
  const c = vscode.workspace.getConfiguration(SECTION);
  return sanitizeSettings((key) => c.get(key));
}
