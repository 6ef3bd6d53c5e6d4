// Every benchmark's entry: it measures the product as it runs, so a process that would run MLX
// without the malloc tunables the server gets starts itself again with them (src/cli/relaunch.ts);
// then `main`, exit code 0, or 1 with the error.
import { relaunchWithMallocTunables } from '../../src/cli/relaunch';

export function benchMain(main: () => Promise<void>): void {
  void (async () => {
    const code = await relaunchWithMallocTunables();
    if (code !== undefined) process.exit(code);
    await main();
  })().then(() => process.exit(0), (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exit(1);
  });
}
