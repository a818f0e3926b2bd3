/**
 * `vigil run`: the hub — scheduler, prober, evaluator, store, metrics and the HTTP API.
 *
 *   vigil run -c vigil.yaml [--port 7979] [--host 127.0.0.1] [--store .vigil/vigil.db | postgres://…]
 *
 * The config reloads when the file changes and on SIGHUP: an invalid edit is reported and the
 * running config stays; unchanged checks keep their state; a changed `alerting:` section swaps the
 * dispatcher (`Hub.updateAlerting`). SIGTERM and SIGINT stop cleanly.
 */
import { type Command, Option } from 'commander';
import { DEFAULT_PORT, type RunOptions, runHub } from '../daemon/hub.js';
import { UsageError } from '../errors.js';

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
    .addOption(new Option('--token <token>', 'bearer token for mutating API routes').env('VIGIL_API_TOKEN'))
    .option('--log-level <level>', 'fatal, error, warn, info, debug', 'info')
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
    .action(async (opts: RunOptions) => {
      // Handlers go in before the hub starts: a SIGTERM during start-up stops it once it is up.
      let stop: (() => Promise<void>) | undefined;
      let requested: string | undefined;
      const shutdown = (signal: string) => {
        if (!stop) {
          requested = signal;
          return;
        }
        void stop().then(
          () => process.exit(0),
          (err: Error) => {
            console.error(`error while stopping after ${signal}: ${err.message}`);
            process.exit(1);
          },
        );
      };
      process.once('SIGTERM', () => shutdown('SIGTERM'));
      process.once('SIGINT', () => shutdown('SIGINT'));
      ({ stop } = await runHub(opts));
      if (requested) shutdown(requested);
    });
}
