import { Command } from 'commander';
import { VERSION } from '../index.js';

/**
 * Builds the `vigil` command line. Commands arrive with the probe engine (`check`, `validate`)
 * and the hub (`run`); until then `vigil` only reports its version.
 *
 * @returns a commander program; call `parseAsync(argv)` on it.
 */
export function createProgram(): Command {
  return new Command('vigil')
    .description('Automated health checks for ML model endpoints')
    .version(VERSION, '-V, --version');
}

export async function main(argv: string[] = process.argv): Promise<void> {
  await createProgram().parseAsync(argv);
}
