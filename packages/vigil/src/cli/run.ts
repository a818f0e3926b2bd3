/**
 * `vigil run`: the hub — scheduler, prober, evaluator, store, metrics and the HTTP API.
 *
 *   vigil run -c vigil.yaml [--port 7979] [--host 127.0.0.1] [--store .vigil/vigil.db | postgres://…]
 *     [--metrics-detail] [--dry-run-actions] [--routers [--router-admin-port 7980]] [--cluster]
 *
 * `--routers` runs the config's `routers:` in this process too (as `vigil route` would), following
 * the hub's states in process and feeding it their traffic as `<target>/traffic:<router>` checks.
 *
 * The config reloads when the file changes and on SIGHUP: an invalid edit is reported and the
 * running config stays; unchanged checks keep their state; a changed `alerting:` section swaps the
 * dispatcher (`Hub.updateAlerting`). SIGTERM and SIGINT stop cleanly.
 *
 * Exit codes (ERRORS.md, "Exit codes"): 0 stopped cleanly, 1 stopping failed, 2 usage or config
 * error, 3 the store cannot be used, 4 the API cannot listen. A start-up fault is one line on stderr.
 * Pass the API token in `VIGIL_API_TOKEN`: `--token` is visible to every user in `ps` (a warning says so).
 */
import { type Command, Option } from 'commander';
import { DEFAULT_MAX_CONFIG_BYTES } from '../config/load.js';
import { DEFAULT_PORT, type RunOptions, runHub } from '../daemon/hub.js';
import { LOG_FORMATS, LOG_LEVELS } from '../daemon/logger.js';
import { UsageError } from '../errors.js';
import { runUntilSignalled } from './signals.js';

/** Adds `run` to the program. */
export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run the hub: probe continuously, evaluate, store, and serve the API and /metrics')
    .option('-c, --config <file>', 'config file', 'vigil.yaml')
    .option(
      '-p, --port <port>',
      'API port',
      (v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0 || n > 65535)
          throw new UsageError('VIGIL_ERR_USAGE', `--port must be 0..65535, got "${v}"`);
        return n;
      },
      DEFAULT_PORT,
    )
    .option('--host <host>', 'API address', '127.0.0.1')
    .option('--store <location>', 'SQLite file or postgres:// URL', '.vigil/vigil.db')
    .option('--region <name>', "region this hub probes from (default: the config's, else local)")
    .addOption(
      new Option(
        '--token <token>',
        'bearer token for mutating API routes; prefer the VIGIL_API_TOKEN environment variable: a flag is visible to every user of the machine in `ps`',
      ).env('VIGIL_API_TOKEN'),
    )
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info'))
    .addOption(
      new Option(
        '--log-format <format>',
        'log lines: json (pino JSON lines) or pretty (time, level, message); default pretty on a terminal, json otherwise',
      ).choices(LOG_FORMATS),
    )
    .option(
      '--metrics-detail',
      '/metrics also exports per-check HTTP phases, status and counters by outcome (about 3.5x the size; see METRICS.md)',
    )
    .option(
      '--dry-run-actions',
      'recovery actions are recorded (status dry-run, in /api/v1/actions) with what they would have run, and not run',
    )
    .option(
      '--retention-days <days>',
      'keep raw results this many days, then per-minute rollups',
      (v) => {
        const n = Number(v);
        if (!(n > 0))
          throw new UsageError('VIGIL_ERR_USAGE', `--retention-days must be a positive number, got "${v}"`);
        return n;
      },
      7,
    )
    .option(
      '--max-config-bytes <bytes>',
      'refuse a config file larger than this, at start and on reload (the running config stays)',
      (v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1)
          throw new UsageError(
            'VIGIL_ERR_USAGE',
            `--max-config-bytes must be a positive integer, got "${v}"`,
          );
        return n;
      },
      DEFAULT_MAX_CONFIG_BYTES,
    )
    .option(
      '--cluster',
      'one of several hubs on one PostgreSQL (--store postgres://…): probe the checks whose lease this hub holds, show them all (README, "Several hubs")',
    )
    .option('--routers', "also run the config's routers in this process (see vigil route)")
    .option('--router-admin-port <port>', "the routers' admin API port (/metrics, drain, restore)", (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 65535)
        throw new UsageError('VIGIL_ERR_USAGE', `--router-admin-port must be 0..65535, got "${v}"`);
      return n;
    })
    .addOption(
      new Option('--router-token <token>', 'routers admin bearer token (drain, restore)')
        .env('VIGIL_ROUTER_TOKEN')
        .hideHelp(),
    )
    .action(async (opts: RunOptions, command: Command) => {
      if (command.getOptionValueSource('token') === 'cli') {
        // Said before the hub starts, on stderr, so it is seen even when logs go elsewhere.
        console.error(
          'warning: --token is visible to every user of this machine in `ps` and may be kept in shell history: set VIGIL_API_TOKEN instead',
        );
      }
      await runUntilSignalled(() => runHub(opts));
    });
}
