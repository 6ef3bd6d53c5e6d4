// The layer rules in eslint.config.mjs fire: each is fed a small file that breaks it, linted as if
// it sat in that layer, with the project's real ESLint configuration.
import assert from 'node:assert/strict';
import path from 'node:path';
import { ESLint } from 'eslint';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');

/** The rule ids and messages ESLint reports for `code` placed at `file` (repo-relative). */
async function lint(file: string, code: string): Promise<string[]> {
  // Type-aware parsing needs files on disk; the import rules need no types.
  const eslint = new ESLint({ cwd: ROOT, overrideConfig: {
    languageOptions: { parserOptions: { projectService: false, project: null } },
    rules: { '@typescript-eslint/no-floating-promises': 'off' },
  } });
  const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
  return result.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

const CASES: { layer: string; file: string; code: string; message: RegExp }[] = [
  { layer: 'batching', file: 'src/batching/x.ts', code: "import '@frost-beta/mlx';", message: /must not import @frost-beta\/mlx/ },
  { layer: 'batching', file: 'src/batching/x.ts', code: "import 'vscode';", message: /must not import vscode/ },
  { layer: 'batching', file: 'src/batching/x.ts', code: "import '../server/mlx';", message: /batching\/shared must not import server/ },
  { layer: 'shared', file: 'src/shared/x.ts', code: "import '../cli/command';", message: /batching\/shared must not import/ },
  { layer: 'server', file: 'src/server/x.ts', code: "import 'vscode';", message: /must not import vscode/ },
  { layer: 'server', file: 'src/server/x.ts', code: "import '../training/train';", message: /server is a library/ },
  { layer: 'server', file: 'src/server/http/x.ts', code: "import '../../cli/command';", message: /server is a library/ },
  { layer: 'server', file: 'src/server/x.ts', code: "import '../extension/settings';", message: /server must not import extension code/ },
  { layer: 'training', file: 'src/training/x.ts', code: "import '../cli/command';", message: /training uses the server as a library/ },
  { layer: 'training', file: 'src/training/x.ts', code: "import '../extension/settings';", message: /training uses the server as a library/ },
  { layer: 'training', file: 'src/training/x.ts', code: "import 'vscode';", message: /must not import vscode/ },
  { layer: 'cli', file: 'src/cli/x.ts', code: "import 'vscode';", message: /must not import vscode/ },
  { layer: 'cli', file: 'src/cli/server/x.ts', code: "import '../../extension/settings';", message: /commands run outside the editor/ },
  { layer: 'extension', file: 'src/extension/x.ts', code: "import '@frost-beta/mlx';", message: /must not import @frost-beta\/mlx/ },
  { layer: 'extension', file: 'src/extension/chat/x.ts', code: "import '../../server/mlx';", message: /extension talks to the server over HTTP only/ },
  { layer: 'extension', file: 'src/extension/x.ts', code: "import '../training/train';", message: /extension talks to the server over HTTP only/ },
];

describe('lint: every layer rule fires on a violation', function () {
  this.timeout(60_000);
  for (const c of CASES) {
    it(`${c.layer}: ${c.code}`, async () => {
      const messages = await lint(c.file, c.code);
      assert.ok(messages.some((m) => m.startsWith('no-restricted-imports: ') && c.message.test(m)), messages.join('\n') || 'no messages');
    });
  }

  it('allows what the layers may import', async () => {
    assert.deepEqual(await lint('src/cli/x.ts', "import '../server/inference';\nimport '../training/train';\n"), []);
    assert.deepEqual(await lint('src/training/x.ts', "import '../server/mlx';\n"), []);
    assert.deepEqual(await lint('src/server/x.ts', "import '../batching/scheduler';\nimport '../shared/errors';\n"), []);
    // "client" is not "cli": a folder whose name starts the same is not caught.
    assert.deepEqual(await lint('src/extension/chat/x.ts', "import '../client/api-error';\n"), []);
  });
});
