import { Command, CommanderError } from 'commander';
import { UsageError } from '../errors.js';
import { VERSION } from '../version.js';
import { registerCheck } from './check.js';
import { registerExport } from './export.js';
import { registerRun } from './run.js';
import { registerValidate } from './validate.js';

/**
 * Builds the `vigil` command line: `check` (one-shot probes, a CI gate), `run` (the hub), `validate`
 * (config diagnostics) and `export prometheus-rules` (Vigil's alerting as Prometheus rules).
 *
 * @returns a commander program whose usage errors throw CommanderError (see {@link main}).
 */
export function createProgram(): Command {
  // exitOverride before the subcommands exist, so they inherit it.
  const program = new Command('vigil')
    .exitOverride()
    .description('Automated health checks for ML model endpoints')
    .version(VERSION, '-V, --version');
  registerCheck(program);
  registerExport(program);
  registerRun(program);
  registerValidate(program);
  return program;
}

/** Runs the CLI. Exit codes: 0 ok, 1 checks failed, 2 config or usage error. */
export async function main(argv: string[] = process.argv): Promise<void> {
  try {
    await createProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    if (err instanceof UsageError) {
      console.error(`error: ${err.message}`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
}
