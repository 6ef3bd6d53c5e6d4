// `mlx-batch <command>`: the command-line entry (dist/cli.js).
import { MlxBatchError } from '../shared/errors';
import { MODEL_FLAG_HELP, type Command } from './command';
import { benchCommand } from './bench';
import { generateCommand } from './generate';
import { makeModelCommand } from './make-model';
import { serveCommand } from './serve';
import { trainCommand } from './train';
import { evalModelCommand } from './eval-model';
import { exportCheckpointCommand } from './export-checkpoint';

const COMMANDS: Command[] = [generateCommand, benchCommand, serveCommand, makeModelCommand, trainCommand, evalModelCommand, exportCheckpointCommand];

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'usage: mlx-batch <command> [options]',
    '',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'mlx-batch <command> --help shows the options of a command.',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(help());
    return name ? 0 : 1;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    console.error(`mlx-batch: unknown command "${name}"\n\n${help()}`);
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

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e: unknown) => {
    console.error(e instanceof Error ? e.stack : e);
    process.exitCode = 1;
  },
);
