// "Select Model": the shipped model, MLX models found in the HF cache, or a folder to browse to.
// The choice goes to the `mlxBatch.model` setting, which restarts the local server.
import * as vscode from 'vscode';
import { SECTION } from '../config';
import { hubDir, listLocalModels, modelFolderProblem } from './hf-scan';

interface Pick extends vscode.QuickPickItem {
  value?: string;
  browse?: boolean;
}

export async function selectModel(current: string): Promise<string | undefined> {
  const models = listLocalModels();
  const items: Pick[] = [
    { label: '$(package) Shipped default model', description: current === '' ? 'current' : '', detail: 'The small model that comes with the extension', value: '' },
    { label: 'Hugging Face cache', kind: vscode.QuickPickItemKind.Separator },
    ...models.map((m) => ({
      label: m.id,
      description: [m.modelType, m.quantization, current === m.id || current === m.path ? 'current' : ''].filter(Boolean).join(' · '),
      detail: m.path,
      value: m.id,
    })),
    ...(models.length ? [] : [{ label: `No MLX models found in ${hubDir()}`, detail: 'Download one with `huggingface-cli download mlx-community/<name>`' }]),
    { label: '', kind: vscode.QuickPickItemKind.Separator },
    { label: '$(folder-opened) Browse for a model folder…', browse: true },
  ];
  const pick = await vscode.window.showQuickPick(items, { title: 'MLX Batch: Select Model', placeHolder: 'Model for the local server', matchOnDetail: true });
  if (!pick) return undefined;
  let value = pick.value;
  if (pick.browse) {
    const uris = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, canSelectMany: false, openLabel: 'Use this model' });
    if (!uris?.[0]) return undefined;
    const problem = modelFolderProblem(uris[0].fsPath);
    if (problem) {
      void vscode.window.showErrorMessage(`MLX Batch: ${uris[0].fsPath} is not an MLX model folder: ${problem}.`);
      return undefined;
    }
    value = uris[0].fsPath;
  }
  if (value === undefined) return undefined;
  await vscode.workspace.getConfiguration(SECTION).update('model', value, vscode.ConfigurationTarget.Global);
  return value;
}
