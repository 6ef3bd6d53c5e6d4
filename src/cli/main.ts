// `mlx-batch <command>`: the command-line entry (dist/cli.js).
import { MlxBatchError } from '../shared/errors';
import { MODEL_FLAG_HELP, type Command } from './command';
import { relaunchWithMallocTunables } from './relaunch';

function loadCommands(): Command[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded inside main's error handling (node-mlx may not load)
  return (require('./commands') as typeof import('./commands')).COMMANDS;
}

function help(commands: Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'usage: mlx-batch <command> [options]',
    '',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'mlx-batch <command> --help shows the options of a command.',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  let commands: Command[];
  try {
    commands = loadCommands();
  } catch (e) {
    if (!(e instanceof MlxBatchError)) throw e;
    console.error(`mlx-batch: ${e.message}`);
    return 1;
  }
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(help(commands));
    return name ? 0 : 1;
  }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) {
    console.error(`mlx-batch: unknown command "${name}"\n\n${help(commands)}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(`usage: ${cmd.usage}${cmd.usage.includes('[--model M]') ? `\n\n${MODEL_FLAG_HELP}` : ''}`);
    return 0;
  }
  try {
    await cmd.run(rest);
    return 0;
  } catch (e) {
    if (e instanceof MlxBatchError) {
      console.error(`mlx-batch ${name}: ${e.message}`);
      return e.type === 'validation' ? 2 : 1;
    }
    throw e;
  }
}

async function start(argv: string[]): Promise<number> {
  return (await relaunchWithMallocTunables()) ?? main(argv);
}

start(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e: unknown) => {
    console.error(e instanceof Error ? e.stack : e);
    process.exitCode = 1;
  },
);
