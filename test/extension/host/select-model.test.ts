// "Select Model" in the real extension host over a Hugging Face cache on disk: the items it offers
// (the shipped model, the MLX models of the cache with type and folder, mlx-community first, a
// browse entry; not a repo without weights), a browsed folder checked, and that a choice is saved
// and the server restarted on it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type * as VSCode from 'vscode';
import type { MlxBatchApi } from '../../../src/extension/extension';
import { activeApi, completeNow, hostVscode, replace, waitFor, waitForReady } from './host';
import { cachedRepo, linkedModel, tempDir } from './model-folders';

const vscode = hostVscode();

describe('extension host: Select Model', function () {
  let api: MlxBatchApi;
  let original: string | undefined;
  let hubBefore: string | undefined;
  let coder: string;
  let chat: string;

  before(async function () {
    if (!vscode) throw new Error('these tests run inside a VS Code extension host: the extension tier (test/extension/launch.test.ts) starts one');
    api = await activeApi(vscode);
    await waitForReady(api, 'the local server');
    original = vscode.workspace.getConfiguration('mlxBatch').inspect<string>('model')?.globalValue;
    const source = api.settings().model;
    assert.ok(source && fs.existsSync(path.join(source, 'config.json')), `the editor runs a model folder (${source})`);
    const hub = tempDir('hub');
    chat = cachedRepo(hub, 'acme/tiny-chat', (dir) => linkedModel(source, dir));
    coder = cachedRepo(hub, 'mlx-community/tiny-coder', (dir) => linkedModel(source, dir));
    // A repo without weights is not an MLX model.
    cachedRepo(hub, 'mlx-community/config-only', (dir) => fs.copyFileSync(path.join(source, 'config.json'), path.join(dir, 'config.json')));
    // The picker reads the cache of the extension host's environment, and the server inherits it.
    hubBefore = process.env.HF_HUB_CACHE;
    process.env.HF_HUB_CACHE = hub;
  });

  after(async () => {
    if (hubBefore === undefined) delete process.env.HF_HUB_CACHE;
    else process.env.HF_HUB_CACHE = hubBefore;
    if (!vscode || !api) return;
    // Putting a different model back restarts the server: wait for the new process, so the next
    // suite does not begin while the old one is still ready.
    const restarts = api.settings().model !== (original ?? '');
    const pid = api.backend.pid;
    await vscode.workspace.getConfiguration('mlxBatch').update('model', original, vscode.ConfigurationTarget.Global);
    await waitFor('the extension to read the original model', () => api.settings().model === (original ?? ''), 30_000);
    await waitForReady(api, 'the server on the original model', restarts ? { notPid: pid } : {});
  });

  /** Runs the command; the quick pick shows its items to `choose`, which picks one (or none). */
  async function selectModel(choose: (items: VSCode.QuickPickItem[]) => VSCode.QuickPickItem | undefined): Promise<{ items: VSCode.QuickPickItem[]; value: unknown }> {
    let items: VSCode.QuickPickItem[] = [];
    const undo = replace(vscode!.window, 'showQuickPick', (async (offered: readonly VSCode.QuickPickItem[]) => {
      items = [...offered];
      return choose(items);
    }) as unknown as typeof VSCode.window.showQuickPick);
    try {
      const value = await vscode!.commands.executeCommand('mlxBatch.selectModel');
      return { items, value };
    } finally {
      undo();
    }
  }

  const entries = (items: VSCode.QuickPickItem[]) => items.filter((i) => i.kind !== vscode!.QuickPickItemKind.Separator);

  it('offers the shipped model, the MLX models of the cache with their type and folder, and a folder to browse to', async () => {
    const { items, value } = await selectModel(() => undefined);
    assert.equal(value, undefined, 'nothing chosen, nothing changed');
    assert.deepEqual(entries(items).map((i) => i.label),
      ['$(package) Shipped default model', 'mlx-community/tiny-coder', 'acme/tiny-chat', '$(folder-opened) Browse for a model folder…'], 'mlx-community first');
    const [shipped, coderItem, chatItem] = entries(items);
    assert.equal(shipped.description, '', 'the shipped model is not the current one: the editor runs a model folder');
    assert.deepEqual([coderItem.description, coderItem.detail], ['qwen2', coder]);
    assert.deepEqual([chatItem.description, chatItem.detail], ['qwen2', chat]);
  });

  it('refuses a browsed folder that is not an MLX model, naming what it lacks, and keeps the setting', async () => {
    const folder = linkedModel(api.settings().model, path.join(tempDir('no-tokenizer'), 'no-tokenizer'));
    fs.rmSync(path.join(folder, 'tokenizer.json'));
    const errors: string[] = [];
    const undo = [
      replace(vscode!.window, 'showOpenDialog', (async () => [vscode!.Uri.file(folder)]) as typeof VSCode.window.showOpenDialog),
      replace(vscode!.window, 'showErrorMessage', (async (m: string) => { errors.push(m); return undefined; }) as typeof VSCode.window.showErrorMessage),
    ];
    try {
      const { value } = await selectModel((items) => items.find((i) => /Browse for a model folder/.test(i.label)));
      assert.equal(value, undefined);
      assert.deepEqual(errors, [`MLX Batch: ${folder} is not an MLX model folder: it has no tokenizer.json.`]);
      assert.equal(vscode!.workspace.getConfiguration('mlxBatch').inspect('model')?.globalValue, original);
    } finally {
      for (const u of undo) u();
    }
  });

  it('saves the chosen model and restarts the server on it, which then serves', async () => {
    const pid = api.backend.pid;
    assert.ok(pid, 'a local server runs');
    const { value } = await selectModel((items) => items.find((i) => i.label === 'mlx-community/tiny-coder'));
    assert.equal(value, 'mlx-community/tiny-coder');
    assert.equal(vscode!.workspace.getConfiguration('mlxBatch').inspect('model')?.globalValue, 'mlx-community/tiny-coder');
    const ready = await waitForReady(api, 'the server on the chosen model', { notPid: pid });
    assert.equal(ready.model, 'mlx-community/tiny-coder', 'the new server loaded the chosen model');
    assert.ok((await completeNow(vscode!, api)).length > 0);
    const again = await selectModel(() => undefined);
    assert.match(entries(again.items).find((i) => i.label === 'mlx-community/tiny-coder')?.description ?? '', /current/, 'the chosen model is marked current');
  });
});
