// The remote backend in the real extension host, against our own server process started with a
// token (it answers 401 to a missing or wrong key): the key goes through "Set Remote API Key" into
// SecretStorage, is read back on every connect and sent; an empty entry removes it; an empty
// `remote.model` means the first model the remote lists; a set one is sent with each request.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type * as VSCode from 'vscode';
import type { BackendStatus } from '../../../src/extension/backend-status';
import type { MlxBatchApi } from '../../../src/extension/extension';
import { isListening, isReady, spawnServer, type SpawnedServer } from '../../server/helpers/spawn-server';
import { activeApi, completeNow, EXTENSION_ID, hostVscode, recordStatus, replace, waitFor, waitForReady } from './host';
import { linkedModel, tempDir } from './model-folders';

const vscode = hostVscode();
const TOKEN = 'remote-backend-token-0123456789';

describe('extension host: remote backend', function () {
  let api: MlxBatchApi;
  let remote: SpawnedServer | undefined;
  let url: string;
  const shown: string[] = [];
  const restore: (() => void)[] = [];
  let status: ReturnType<typeof recordStatus>;

  /** Types `key` into the "Set Remote API Key" input box. */
  async function setKey(key: string): Promise<void> {
    const undo = replace(vscode!.window, 'showInputBox', (async () => key) as typeof VSCode.window.showInputBox);
    try {
      await vscode!.commands.executeCommand('mlxBatch.setRemoteApiKey');
    } finally {
      undo();
    }
  }

  /** The next status in `state` after the `from`-th recorded one. */
  function nextStatus<S extends BackendStatus['state']>(what: string, from: number, state: S): Promise<Extract<BackendStatus, { state: S }>> {
    return waitFor(what, () => status.events.slice(from).find((s): s is Extract<BackendStatus, { state: S }> => s.state === state), 60_000);
  }

  const cfg = () => vscode!.workspace.getConfiguration('mlxBatch');

  before(async function () {
    if (!vscode) throw new Error('these tests run inside a VS Code extension host: the extension tier (test/extension/launch.test.ts) starts one');
    api = await activeApi(vscode);
    await waitForReady(api, 'the local server');
    const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
    // The remote serves the editor's model under a name of its own, so the name can only come from its /v1/models.
    const model = linkedModel(api.settings().model || path.join(ext.extensionPath, 'models', 'default'), path.join(tempDir('remote'), 'remote-tiny'));
    const tokenFile = path.join(tempDir('remote-token'), 'token');
    fs.writeFileSync(tokenFile, TOKEN, { mode: 0o600 });
    remote = spawnServer(path.join(ext.extensionPath, 'dist', 'server.js'), ['--model', model, '--port', '0', '--token-file', tokenFile, '--max-batch', '2']);
    url = (await remote.event(isListening, 120_000)).url;
    await remote.event(isReady, 120_000);
    restore.push(replace(vscode.window, 'showErrorMessage', (async (message: string) => { shown.push(message); return undefined; }) as typeof VSCode.window.showErrorMessage));
    status = recordStatus(api);
  });

  after(async () => {
    status?.dispose();
    if (vscode && api) {
      await cfg().update('remote.url', undefined, vscode.ConfigurationTarget.Global);
      await cfg().update('backend', undefined, vscode.ConfigurationTarget.Global);
      await setKey('');
      await waitFor('the extension to read the local backend', () => api.settings().backend === 'local' && api.settings().remote.url === '', 30_000);
      await waitForReady(api, 'the local server again');
    }
    for (const undo of restore.splice(0).reverse()) undo();
    remote?.child.kill('SIGTERM');
    await remote?.exit;
  });

  it('connects with the key stored by "Set Remote API Key", names the first listed model, and completes through the remote', async () => {
    await setKey(TOKEN);
    await cfg().update('backend', 'remote', vscode!.ConfigurationTarget.Global);
    const noUrl = await waitFor('the error for a remote backend without a URL', () => api.backend.status.state === 'error' && api.backend.status, 60_000);
    assert.match(noUrl.message, /"mlxBatch\.remote\.url" is empty/);
    await cfg().update('remote.url', `${url}/v1`, vscode!.ConfigurationTarget.Global);
    const ready = await waitForReady(api, 'the remote backend', { remote: true });
    assert.equal(ready.url, url, 'the trailing /v1 is dropped');
    const listed = await (await fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${TOKEN}` } })).json() as { data: { id: string }[] };
    assert.equal(listed.data[0].id, 'remote-tiny');
    assert.equal(ready.model, 'remote-tiny', 'an empty mlxBatch.remote.model is the first model /v1/models lists');
    assert.equal(api.backend.listedModel, 'remote-tiny', 'requests name the first listed model');
    assert.equal(api.backend.pid, undefined, 'no local server runs for a remote backend');
    assert.ok((await completeNow(vscode!, api)).length > 0);
  });

  it('reads the key from SecretStorage on every connect: an empty entry removes it, a wrong one gives a clear error', async () => {
    const before = shown.length;
    let from = status.events.length;
    await setKey('');
    const cleared = await nextStatus('the reconnection without a key', from, 'error');
    assert.match(cleared.message, /refused the API key \(401\).*Set Remote API Key/s, 'the key was removed: the remote refuses the request');
    from = status.events.length;
    await setKey('not-the-token');
    const wrong = await nextStatus('the reconnection with a wrong key', from, 'error');
    assert.match(wrong.message, /cannot use the remote server: .*refused the API key \(401\).*Set Remote API Key/s);
    assert.deepEqual(shown.slice(before), [`MLX Batch: ${cleared.message}`, `MLX Batch: ${wrong.message}`], 'each failure is shown once, with its message');
    from = status.events.length;
    await setKey(TOKEN);
    await nextStatus('the reconnection with the right key', from, 'ready');
    assert.ok((await completeNow(vscode!, api)).length > 0);
  });

  it('sends a set mlxBatch.remote.model as the model of each request, and the user sees the remote refuse one it does not serve', async () => {
    await cfg().update('remote.model', 'not-served', vscode!.ConfigurationTarget.Global);
    try {
      await waitFor('the extension to read the model name', () => api.settings().remote.model === 'not-served', 30_000);
      const answer = await api.chat.ask('Say hi.', { chatId: api.chat.newChat() });
      assert.match(answer.error ?? '', /model "not-served" is not loaded; this server serves "remote-tiny"/);
    } finally {
      await cfg().update('remote.model', undefined, vscode!.ConfigurationTarget.Global);
    }
  });
});
