// Bundles the three entry points with esbuild. node-mlx (native) and vscode stay external.
import * as esbuild from 'esbuild';

const watch = process.argv.includes('--watch');
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  external: ['vscode', '@frost-beta/mlx'],
  logLevel: 'warning',
};
const entries = [
  { entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js' },
  { entryPoints: ['src/cli/server/main.ts'], outfile: 'dist/server.js' },
  { entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } },
];
// Webview scripts run in the editor's browser sandbox: one self-contained IIFE each, no node.
const webview = { platform: 'browser', format: 'iife', target: 'es2022', external: [], minify: !watch };
entries.push(
  { ...webview, entryPoints: ['src/extension/webview/chat-main.mts'], outfile: 'dist/webview/chat.js' },
  { ...webview, entryPoints: ['src/extension/webview/benchmark-main.mts'], outfile: 'dist/webview/benchmark.js' },
);
const fs = await import('node:fs');
const present = entries.filter((e) => fs.existsSync(e.entryPoints[0]));
if (watch) {
  for (const e of present) await (await esbuild.context({ ...common, ...e })).watch();
} else {
  await Promise.all(present.map((e) => esbuild.build({ ...common, ...e })));
}
