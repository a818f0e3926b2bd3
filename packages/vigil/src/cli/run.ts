/**
 * `vigil run`: the hub — scheduler, prober, evaluator, store, metrics and the HTTP API.
 *
 *   vigil run -c vigil.yaml [--port 7979] [--host 127.0.0.1] [--store .vigil/vigil.db | postgres://…]
 *
 * The config reloads when the file changes and on SIGHUP: an invalid edit is reported and the
 * running config stays; unchanged checks keep their state; a changed `alerting:` section swaps the
 * dispatcher (`Hub.updateAlerting`). SIGTERM and SIGINT stop cleanly.
 */
import { watch } from 'node:fs';
import { type Command, Option } from 'commander';
import { pino } from 'pino';
import { createNotifiers } from '../alerting/notifiers/index.js';
import { createApi } from '../api/index.js';
import { loadConfig } from '../config/index.js';
import { UsageError } from '../errors.js';
import { createHub } from '../hub/hub.js';
import { createMetrics } from '../metrics/index.js';
import { openStore } from '../store/index.js';

/** Default port of the hub's API, dashboard and /metrics. */
export const DEFAULT_PORT = 7979;

interface RunOptions {
  config: string;
  port: number;
  host: string;
  store: string;
  region?: string;
  token?: string;
  logLevel: string;
  /** Raw results are kept this many days, then folded into per-minute rollups. Default 7. */
  retentionDays?: number;
}

/** How often the hub prunes the store: raw results past retention become per-minute rollups. */
export const PRUNE_INTERVAL_MS = 60 * 60_000;

/** Starts the hub and resolves once it is listening; returns a function that stops it. */
export async function runHub(opts: RunOptions): Promise<{ url: string; stop: () => Promise<void> }> {
  const logger = pino({ level: opts.logLevel, base: undefined });
  const loaded = await loadConfig(opts.config);
  if (!loaded.ok) {
    for (const d of loaded.diagnostics) logger.error(d);
    throw new UsageError('VIGIL_ERR_CONFIG_INVALID', `${opts.config} is invalid; the hub did not start`);
  }
  let redact = loaded.redact;
  const region = opts.region ?? loaded.config.region ?? 'local';
  const store = await openStore(opts.store);
  const metrics = createMetrics();
  let alerting = loaded.config.alerting;
  const notifiers = createNotifiers(alerting?.notifiers);
  const hub = createHub({
    ...(alerting ? { alerting: { config: alerting, notifiers } } : {}),
    plan: loaded.plan,
    store,
    metrics,
    region,
    log: (level, message, fields) => logger[level](fields ?? {}, redact(message)),
    // Through the variable: a reload swaps in the new config's secrets.
    redact: (text) => redact(text),
  });
  await hub.start();
  const api = await createApi({ hub, metrics, ...(opts.token ? { token: opts.token } : {}) });
  await api.listen({ host: opts.host, port: opts.port });
  const address = api.server.address();
  const url =
    address && typeof address === 'object'
      ? `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`
      : `http://${opts.host}:${opts.port}`;
  logger.info(
    { url, checks: hub.status().length, store: opts.store.replace(/\/\/[^@/]*@/, '//') },
    'vigil hub running',
  );

  const rawRetentionMs = (opts.retentionDays ?? 7) * 86_400_000;
  const prune = () =>
    store.prune({ now: Date.now(), rawRetentionMs }).then(
      (report) => {
        if (report.rolledUp > 0) logger.info({ ...report }, 'pruned raw results into per-minute rollups');
      },
      (err: Error) => logger.error(`prune failed: ${err.message}`),
    );
  let pruning = prune();
  const pruneTimer = setInterval(() => {
    pruning = pruning.then(prune);
  }, PRUNE_INTERVAL_MS);
  pruneTimer.unref();

  let reloading: Promise<void> = Promise.resolve();
  const reload = (why: string) => {
    reloading = reloading.then(async () => {
      const next = await loadConfig(opts.config);
      if (!next.ok) {
        logger.error(
          { diagnostics: next.diagnostics },
          `config reload (${why}) rejected; the running config stays`,
        );
        return;
      }
      redact = next.redact;
      hub.update(next.plan);
      if (JSON.stringify(next.config.alerting) !== JSON.stringify(alerting)) {
        alerting = next.config.alerting;
        await hub.updateAlerting(
          alerting ? { config: alerting, notifiers: createNotifiers(alerting.notifiers) } : undefined,
        );
        logger.info(alerting ? 'alerting reloaded' : 'alerting removed: no notifications from now on');
      }
      logger.info({ checks: hub.status().length }, `config reloaded (${why})`);
    });
  };
  let debounce: NodeJS.Timeout | undefined;
  const watcher = watch(opts.config, () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => reload('file changed'), 200);
  });
  const onHup = () => reload('SIGHUP');
  process.on('SIGHUP', onHup);

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      watcher.close();
      clearInterval(pruneTimer);
      clearTimeout(debounce);
      process.off('SIGHUP', onHup);
      await reloading;
      await pruning;
      await hub.stop();
      await api.close();
      await store.close();
      logger.info('vigil hub stopped');
    })();
    return stopped;
  };
  return { url, stop };
}

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
