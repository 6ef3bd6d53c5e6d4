// Lint, and the layer rules: batching and shared import neither vscode nor node-mlx,
// server never vscode, extension never node-mlx (see docs/ARCHITECTURE.md).
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
    rules: restrict(['vscode', MLX], [{ group: ['**/server/**', '**/extension/**'], message: 'batching/shared must not import server or extension code.' }]) },
  { files: ['src/server/**/*.ts'],
    rules: restrict(['vscode'], [{ group: ['**/extension/**'], message: 'server must not import extension code.' }]) },
  { files: ['src/extension/**/*.ts'],
    rules: restrict([MLX], [{ group: ['**/server/**'], message: 'extension talks to the server over HTTP only.' }]) },
);
