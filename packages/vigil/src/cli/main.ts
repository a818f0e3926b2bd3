import { Command, CommanderError } from 'commander';
import { ConfigError, EXIT_CODES, exitCodeOf, VigilError } from '../errors.js';
import { VERSION } from '../version.js';
import { registerAgent } from './agent.js';
import { registerBaseline } from './baseline.js';
import { registerCheck } from './check.js';
import { applyEnvironment } from './env.js';
import { registerExport } from './export.js';
import { registerRoute } from './route.js';
import { registerRun } from './run.js';
import { registerValidate } from './validate.js';

/**
 * Builds the `vigil` command line: `check` (one-shot probes, a CI gate), `run` (the hub), `validate`
 * (config diagnostics), `export prometheus-rules` (Vigil's alerting as Prometheus rules) and
 * `baseline show|diff` (canary baselines).
 *
 * Every flag is also read from a `VIGIL_*` environment variable (`cli/env.ts`; a flag given wins).
 *
 * @returns a commander program whose usage errors throw CommanderError (see {@link main}).
 */
export function createProgram(): Command {
  // exitOverride before the subcommands exist, so they inherit it.
  const program = new Command('vigil')
    .exitOverride()
    .description('Automated health checks for ML model endpoints')
    .version(VERSION, '-V, --version');
  registerBaseline(program);
  registerCheck(program);
  registerExport(program);
  registerRoute(program);
  registerAgent(program);
  registerRun(program);
  registerValidate(program);
  // Last: it gives every option registered above its VIGIL_* variable.
  applyEnvironment(program);
  return program;
}

/**
 * Runs the CLI and sets `process.exitCode` (the table: `EXIT_CODES` in errors.ts, ERRORS.md "Exit
 * codes"): 0 ok, 1 checks failed, 2 usage or config error, 3 the store cannot be used, 4 the API
 * cannot listen, 70 a bug.
 *
 * A {@link VigilError} that ends a command is an operator's problem, not a bug: it is printed as one
 * line, `error: <message>`, without a stack trace (its message says what failed, where, and how to
 * recover), after a {@link ConfigError}'s diagnostics (one line each). Any other error is a bug and
 * is printed with its stack.
 */
export async function main(argv: string[] = process.argv): Promise<void> {
  try {
    await createProgram().parseAsync(argv);
  } catch (err) {
    process.exitCode = exitCodeFor(err);
    // Commander has printed its own usage errors (and --help / --version their text).
    if (err instanceof CommanderError) return;
    if (err instanceof VigilError) {
      // A config's problems come first, one line each with its path, as `vigil validate` prints them.
      if (err instanceof ConfigError) for (const d of err.diagnostics) console.error(oneLine(d));
      console.error(`error: ${oneLine(err.message)}`);
      return;
    }
    console.error(
      `error: internal error (a bug in Vigil; please report it): ${(err as Error)?.stack ?? err}`,
    );
  }
}

function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.usage;
  return exitCodeOf(err);
}

/** A driver's message may span lines (PostgreSQL's details, for one); the promise is one line. */
function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
