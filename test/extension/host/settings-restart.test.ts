// Settings changes in the real extension host: one the server is started with (max batch) replaces
// the server process, which then serves with it (two quick changes end on the later one); one it
// is not (completion length) leaves it be.
import assert from 'node:assert/strict';
import type { MlxBatchApi } from '../../../src/extension/extension';
import { activeApi, completeNow, hostVscode, recordStatus, waitFor, waitForQuiet, waitForReady } from './host';

const vscode = hostVscode();

describe('extension host: settings changes', function () {
  let api: MlxBatchApi;
  const cfg = () => vscode!.workspace.getConfiguration('mlxBatch');
  /**
   * Puts server.maxBatch back (it was changed to `changed`) and waits for the server that restart
   * starts: a new process, so the next test does not begin while the old one is still ready.
   */
  const restoreMaxBatch = async (original: number | undefined, changed: number): Promise<void> => {
    const pid = api.backend.pid;
    await cfg().update('server.maxBatch', original, vscode!.ConfigurationTarget.Global);
    await waitFor('the extension to read the original setting', () => api.settings().server.maxBatch !== changed, 30_000);
    await waitForReady(api, 'the server with the original max batch', { notPid: pid });
  };
  /** The max batch the running server reports in its first live-stats event. */
  const maxBatchServed = async (): Promise<number | undefined> => {
    const client = (await api.backend.client())!;
    const stop = new AbortController();
    const stats = client.stats(stop.signal);
    const first = await stats.next();
    stop.abort();
    await stats.return(undefined).catch(() => undefined);
    return first.value?.max_batch;
  };

  before(async function () {
    if (!vscode) throw new Error('these tests run inside a VS Code extension host: the extension tier (test/extension/launch.test.ts) starts one');
    api = await activeApi(vscode);
    await waitForReady(api, 'the local server');
  });

  it('restarts the server when mlxBatch.server.maxBatch changes, and the new one serves with it', async () => {
    const original = cfg().inspect<number>('server.maxBatch')?.globalValue;
    const next = api.settings().server.maxBatch === 2 ? 3 : 2;
    const pid = api.backend.pid;
    try {
      await cfg().update('server.maxBatch', next, vscode!.ConfigurationTarget.Global);
      await waitFor('the extension to read the new setting', () => api.settings().server.maxBatch === next, 30_000);
      // The listener stops the old server at once (synchronously) when it restarts it.
      assert.notEqual(api.backend.pid, pid, 'the old server is stopped');
      await waitForReady(api, 'the server with the new max batch', { notPid: pid });
      assert.equal(await maxBatchServed(), next, 'the new server runs with the new max batch');
      assert.ok((await completeNow(vscode!, api)).length > 0);
    } finally {
      await restoreMaxBatch(original, next);
    }
  });

  it('two quick changes end on the later one, also for the restart after a crash', async () => {
    const original = cfg().inspect<number>('server.maxBatch')?.globalValue;
    const [first, last] = api.settings().server.maxBatch === 2 ? [3, 5] : [2, 5];
    try {
      // No wait between the two: the second change arrives while the first restart stops the server.
      await cfg().update('server.maxBatch', first, vscode!.ConfigurationTarget.Global);
      await cfg().update('server.maxBatch', last, vscode!.ConfigurationTarget.Global);
      await waitFor('the extension to read the later setting', () => api.settings().server.maxBatch === last, 30_000);
      await waitForReady(api, 'the server after both changes');
      assert.equal(await maxBatchServed(), last, 'the server runs with the later setting');
      // The supervisor restarts a crashed server with the settings it holds: the later ones.
      const pid = api.backend.pid!;
      process.kill(pid, 'SIGKILL');
      await waitForReady(api, 'the server restarted after the crash', { notPid: pid });
      assert.equal(await maxBatchServed(), last, 'the restart after a crash went back to the earlier setting');
    } finally {
      await restoreMaxBatch(original, last);
    }
  });

  it('keeps the server when a setting it does not use changes', async () => {
    const original = cfg().inspect<number>('completion.maxTokens')?.globalValue;
    const next = api.settings().completion.maxTokens + 1;
    // From a settled backend: ready, and no status change for a while (what earlier tests
    // started has finished), so every change recorded below comes from this setting.
    await waitForQuiet(api, 2_000);
    const pid = api.backend.pid;
    const status = recordStatus(api);
    try {
      await cfg().update('completion.maxTokens', next, vscode!.ConfigurationTarget.Global);
      // The listener has run once the extension's settings hold the new value; a restart stops
      // the server at once (synchronously in the listener).
      await waitFor('the extension to read the new setting', () => api.settings().completion.maxTokens === next, 30_000);
      assert.deepEqual(status.events, [], 'no status change');
      assert.equal(api.backend.pid, pid, 'the same server process');
      assert.equal(api.backend.status.state, 'ready');
    } finally {
      status.dispose();
      await cfg().update('completion.maxTokens', original, vscode!.ConfigurationTarget.Global);
    }
  });
});
