// Every `mlx-batch` command. main.ts loads this list inside its error handling: the commands
// reach node-mlx, whose native module may not load on this machine.
import type { Command } from './command';
import { benchCommand } from './bench';
import { generateCommand } from './generate';
import { makeModelCommand } from './make-model';
import { serveCommand } from './serve';
import { trainCommand } from './train';
import { evalModelCommand } from './eval-model';
import { exportCheckpointCommand } from './export-checkpoint';

export const COMMANDS: Command[] = [generateCommand, benchCommand, serveCommand, makeModelCommand, trainCommand, evalModelCommand, exportCheckpointCommand];
