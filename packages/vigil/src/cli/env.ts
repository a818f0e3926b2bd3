/**
 * Every flag of every command also settable by an environment variable, for containers and systemd
 * units, derived from the commands' own option definitions (nothing is listed twice): `--log-level`
 * is `VIGIL_LOG_LEVEL`, `--retention-days` is `VIGIL_RETENTION_DAYS`. An option that names its own
 * variable keeps it (`--token`: `VIGIL_API_TOKEN` for `run`, `VIGIL_ROUTER_TOKEN` for `route`).
 *
 * Precedence, as kubectl, Prometheus' exporters and commander itself order it: a flag on the command
 * line, then the variable, then the default. `vigil <command> --help` shows each option's variable.
 */
import type { EventEmitter } from 'node:events';
import type { Command, Option } from 'commander';
import { UsageError } from '../errors.js';

/** Prefix of every derived variable. */
export const ENV_PREFIX = 'VIGIL_';

/** Values of a variable for an on/off flag (`--metrics-detail`), as systemd and Docker spell them. */
const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['', '0', 'false', 'no', 'off']);

/**
 * The variable of a long flag: `--log-level` → `VIGIL_LOG_LEVEL`.
 *
 * @example
 * envVarOf('--retention-days'); // 'VIGIL_RETENTION_DAYS'
 */
export function envVarOf(long: string): string {
  return ENV_PREFIX + long.replace(/^--/, '').replace(/-/g, '_').toUpperCase();
}

/**
 * Gives every option of `program` and its subcommands (at any depth) its variable, unless it has
 * one; `--version` and `--help` have none. Call it after all commands are registered.
 *
 * An on/off flag reads `1/true/yes/on` as set and `0/false/no/off` (or empty) as not set; anything
 * else is a usage error naming the variable (commander alone would take any value, even `false`, as
 * set).
 *
 * @throws UsageError `VIGIL_ERR_USAGE` at parse time, for an on/off variable with another value.
 */
export function applyEnvironment(program: Command): void {
  const visit = (command: Command) => {
    for (const option of [...(command.options as Option[])]) {
      if (option.long === undefined || option.long === '--version' || option.long === '--help') continue;
      if (option.envVar !== undefined) continue;
      // Commander binds an option's variable when the option is added: add it again with one, in
      // its place (help lists options in this order).
      const options = command.options as Option[];
      const at = options.indexOf(option);
      options.splice(at, 1);
      (command as unknown as EventEmitter).removeAllListeners(`option:${option.name()}`);
      command.addOption(option.env(envVarOf(option.long)));
      options.splice(at, 0, options.pop() as Option);
    }
    for (const sub of command.commands) visit(sub);
  };
  visit(program);
  // Runs before any command's action, with the command that will act.
  program.hook('preAction', (_program, actionCommand) => {
    for (const option of actionCommand.options as Option[]) {
      if (!option.isBoolean() || option.envVar === undefined) continue;
      const name = option.attributeName();
      if (actionCommand.getOptionValueSource(name) !== 'env') continue;
      const raw = (process.env[option.envVar] ?? '').trim().toLowerCase();
      if (TRUE.has(raw)) continue;
      if (!FALSE.has(raw))
        throw new UsageError(
          'VIGIL_ERR_USAGE',
          `${option.envVar} (${option.long}) must be one of 1, true, yes, on, 0, false, no, off, got "${process.env[option.envVar]}"`,
        );
      actionCommand.setOptionValueWithSource(name, option.negate ? true : undefined, 'default');
    }
  });
}
