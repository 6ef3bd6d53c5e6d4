// `mlx-batch bench --scenario editor`: the editor's real mix (completions at typing pace while
// chats stream) replayed sequentially, batched, and batched with priorities, on the server's own
// stack in-process (prefix store and cache reuse as the extension's server runs them).
import fs from 'node:fs';
import path from 'node:path';
import { runEditorScenario } from '../batching/benchmark/editor-scenario';
import { editorTrace } from '../batching/benchmark/editor-trace';
import { EDITOR_SOURCE_FILES } from '../batching/benchmark/prompts';
import { formatEditorReport } from '../batching/benchmark/terminal';
import { MlxBatchError } from '../shared/errors';
import { DEFAULT_EDITOR_TRACE, DEFAULT_MAX_BATCH, EDITOR_CACHE_REUSE } from '../shared/server-defaults';
import { backendName, selectDevice, type Device } from '../server/device';
import { editorTarget } from '../server/http/editor-target';
import { RunnerService } from '../server/http/runner-service';
import { openInference } from '../server/inference';
import { promptTokenizer } from '../server/load-service';
import { describeMachine } from '../server/machine';
import { intFlag } from './command';

type Flags = Partial<Record<'chats' | 'typing-ms' | 'duration' | 'seed' | 'files' | 'out', string>> & { json?: boolean };

function sourceFiles(list: string | undefined): { path: string; text: string }[] {
  if (list === undefined) return [...EDITOR_SOURCE_FILES];
  const paths = list.split(',').map((s) => s.trim()).filter(Boolean);
  if (paths.length === 0) throw new MlxBatchError('validation', '--files needs at least one file', 'files');
  return paths.map((p) => {
    try {
      return { path: path.basename(p), text: fs.readFileSync(p, 'utf8') };
    } catch (e) {
      throw new MlxBatchError('validation', `--files: cannot read ${p}: ${(e as Error).message}`, 'files');
    }
  });
}

export async function runEditorBench(f: Flags, model: string, device: Device | undefined): Promise<void> {
  const options = {
    chats: intFlag(f.chats, 'chats', DEFAULT_EDITOR_TRACE.chats, 0),
    typingMs: intFlag(f['typing-ms'], 'typing-ms', DEFAULT_EDITOR_TRACE.typingMs, 20),
    durationS: intFlag(f.duration, 'duration', DEFAULT_EDITOR_TRACE.durationS, 5),
    seed: intFlag(f.seed, 'seed', DEFAULT_EDITOR_TRACE.seed, 0),
  };
  const trace = editorTrace(sourceFiles(f.files), options);
  const log = (s: string) => process.stderr.write(s);
  selectDevice(device);
  const inf = await openInference(model, {
    engine: { cacheReuseTokens: EDITOR_CACHE_REUSE },
    runner: { maxBatch: DEFAULT_MAX_BATCH },
    load: { log: (line) => log(`[bench] ${line}\n`) },
  });
  const service = new RunnerService({ id: inf.loaded.id, contextLength: inf.engine.contextLength, created: 0 }, inf.runner, promptTokenizer(inf.tokenizer),
    { backend: backendName(), benchmarkConcurrency: [1], benchmarkMaxTokens: 16 });
  log(`[bench] ${inf.loaded.id}: editor scenario, ${trace.keystrokes.length} keystrokes, ${trace.asks} of them asking for a completion, in ${options.durationS} s, ${options.chats} chats, seed ${options.seed}\n`);
  const tty = process.stderr.isTTY;
  let shown = '';
  const report = await runEditorScenario(editorTarget(service), trace, {
    model: inf.loaded.id,
    machine: describeMachine(backendName()),
    onProgress: (mode, elapsed, total) => {
      const line = `${mode.padEnd(16)} ${(elapsed / 1000).toFixed(0).padStart(4)}/${(total / 1000).toFixed(0)} s`;
      if (tty) log(`\r${line}\x1b[K`);
      else if (mode !== shown) log(`${(shown = mode)}\n`);
    },
  });
  if (tty) log('\n');
  const json = JSON.stringify(report, null, 2);
  if (f.out) fs.writeFileSync(f.out, json + '\n');
  process.stdout.write(f.json ? json + '\n' : formatEditorReport(report) + '\n');
}
