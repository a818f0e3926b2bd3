import type { Command } from 'commander';
import { loadConfig } from '../config/index.js';

/**
 * Adds `vigil validate -c FILE` (default `vigil.yaml`): loads the config as `vigil run` would (YAML,
 * `${VAR}` from the environment, schema, files) without probing anything.
 *
 * Valid: prints `FILE: valid (N targets, M checks)` to stdout, exit code 0. Invalid or unreadable: prints
 * each diagnostic on its own line to stderr (secrets redacted), exit code 2.
 *
 * @example registerValidate(new Command('vigil')) // then `vigil validate -c vigil.yaml`
 */
export function registerValidate(program: Command): Command {
  return program
    .command('validate')
    .description('check a config file and report every problem; exit 0 valid, 2 invalid')
    .option('-c, --config <file>', 'config file', 'vigil.yaml')
    .action(async (options: { config: string }) => {
      const result = await loadConfig(options.config);
      if (!result.ok) {
        process.stderr.write(`${result.diagnostics.join('\n')}\n`);
        process.exitCode = 2;
        return;
      }
      const targets = result.config.targets.length;
      const checks = result.plan.length;
      process.stdout.write(
        `${options.config}: valid (${targets} ${targets === 1 ? 'target' : 'targets'}, ${checks} ${checks === 1 ? 'check' : 'checks'})\n`,
      );
    });
}
