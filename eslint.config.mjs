// Lint, and the layer rules (docs/ARCHITECTURE.md): batching and shared import neither vscode,
// node-mlx nor any other layer; server never vscode, training or cli; training never vscode,
// extension or cli; extension never node-mlx, server, training or cli. src/cli wires them all.
// test/unit/lint/layer-rules.test.ts feeds each rule a violation.
import tseslint from 'typescript-eslint';

const restrict = (paths, patterns = []) => ({
  'no-restricted-imports': ['error', {
    paths: paths.map((name) => ({ name, message: `This layer must not import ${name} (docs/ARCHITECTURE.md).` })),
    patterns,
  }],
});
const MLX = '@frost-beta/mlx';

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', 'media/vendor/**', '.cache/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  { files: ['src/batching/**/*.ts', 'src/shared/**/*.ts'],
    rules: restrict(['vscode', MLX], [{ group: ['**/server/**', '**/extension/**', '**/training/**', '**/cli/**'], message: 'batching/shared must not import server, extension, training or cli code.' }]) },
  { files: ['src/server/**/*.ts'],
    rules: restrict(['vscode'], [
      { group: ['**/extension/**'], message: 'server must not import extension code.' },
      { group: ['**/training/**', '**/cli/**'], message: 'server is a library: the trainer and the commands use it, never the other way round.' },
    ]) },
  { files: ['src/training/**/*.ts'],
    rules: restrict(['vscode'], [{ group: ['**/extension/**', '**/cli/**'], message: 'training uses the server as a library; commands live in src/cli.' }]) },
  { files: ['src/cli/**/*.ts'],
    rules: restrict(['vscode'], [{ group: ['**/extension/**'], message: 'commands run outside the editor: no extension code.' }]) },
  { files: ['src/extension/**/*.ts'],
    rules: restrict([MLX], [{ group: ['**/server/**', '**/training/**', '**/cli/**'], message: 'extension talks to the server over HTTP only.' }]) },
);
