// The supervisor in the real extension host: a server that keeps dying is restarted until the
// restart budget is spent, then shown once with "Show Logs" and "Retry" (Retry starts it again);
// a model that fails to load is shown once and not retried.
import assert from 'node:assert/strict';
import path from 'node:path';
import type * as VSCode from 'vscode';
import type { MlxBatchApi } from '../../../src/extension/extension';
import { activeApi, completeNow, hostVscode, recordStatus, replace, waitFor, waitForReady } from './host';
import { linkedModel, tempDir } from './model-folders';

const vscode = hostVscode();

/** A notification of the extension: its message, its buttons, and a way to press one. */
interface Shown { message: string; actions: string[]; press(action: string | undefined): void }

describe('extension host: server supervisor', function () {
  let api: MlxBatchApi;
  const shown: Shown[] = [];
  let undo: () => void;
  const cfg = () => vscode!.workspace.getConfiguration('mlxBatch');

  before(async function () {
    if (!vscode) throw new Error('these tests run inside a VS Code extension host: the extension tier (test/extension/launch.test.ts) starts one');
    api = await activeApi(vscode);
    undo = replace(vscode.window, 'showErrorMessage', ((message: string, ...actions: string[]) => new Promise<string | undefined>((press) => {
      shown.push({ message, actions, press });
    })) as unknown as typeof VSCode.window.showErrorMessage);
    await waitForReady(api, 'the local server');
  });

  after(async () => {
    for (const s of shown) s.press(undefined);
    undo?.();
  });

  it('gives up after the restart budget with "Show Logs" and "Retry", and Retry starts the server again', async () => {
    await cfg().update('server.maxRestarts', 1, vscode!.ConfigurationTarget.Global);
    try {
      // The budget is read when the server is (re)started by the user.
      let pid = api.backend.pid;
      await vscode!.commands.executeCommand('mlxBatch.restartServer');
      await waitForReady(api, 'the restarted server', { notPid: pid });
      pid = api.backend.pid!;
      process.kill(pid, 'SIGKILL');
      await waitForReady(api, 'the server restarted after a crash (1 of 1)', { notPid: pid });
      const before = shown.length;
      process.kill(api.backend.pid!, 'SIGKILL');
      const gaveUp = await waitFor('the notification that the supervisor gave up', () => shown[before], 60_000);
      assert.match(gaveUp.message, /^MLX Batch: the server keeps stopping \(1 restarts\)/);
      assert.deepEqual(gaveUp.actions, ['Show Logs', 'Retry']);
      assert.equal(api.backend.status.state, 'error');
      assert.equal(api.backend.pid, undefined, 'no restart after giving up');
      gaveUp.press('Retry');
      await waitFor('"Retry" to start the server again', () => api.backend.status.state !== 'error', 10_000);
      await waitForReady(api, 'the server started by Retry');
      assert.ok((await completeNow(vscode!, api)).length > 0);
    } finally {
      await cfg().update('server.maxRestarts', undefined, vscode!.ConfigurationTarget.Global);
    }
  });

  it('shows a model that fails to load once, and does not start it again', async () => {
    // A model folder the picker accepts (config, weights, tokenizer) that the server cannot load.
    const broken = linkedModel(api.settings().model, path.join(tempDir('broken'), 'broken-model'), (c) => ({ ...c, model_type: 'no-such-architecture' }));
    const original = cfg().inspect<string>('model')?.globalValue;
    const status = recordStatus(api);
    const before = shown.length;
    try {
      await cfg().update('model', broken, vscode!.ConfigurationTarget.Global);
      const failed = await waitFor('the notification of the failed load', () => shown[before], 120_000);
      assert.match(failed.message, /no-such-architecture/);
      assert.deepEqual(failed.actions, ['Select Model', 'Show Logs', 'Retry']);
      // The supervisor decides when the server exits, in one step: a restart shows "restarting"
      // and schedules the next start; showing the error schedules nothing.
      assert.equal(status.events.filter((s) => s.state === 'starting' && /^starting /.test(s.message)).length, 1, 'one start');
      assert.ok(!status.events.some((s) => s.state === 'starting' && /restarting/.test(s.message)), 'no restart');
      assert.deepEqual([api.backend.status.state, api.backend.pid], ['error', undefined]);
    } finally {
      status.dispose();
      await cfg().update('model', original, vscode!.ConfigurationTarget.Global);
      await waitFor('the extension to read the original model', () => api.settings().model === (original ?? ''), 30_000);
      await waitForReady(api, 'the server on the original model');
    }
  });
});
