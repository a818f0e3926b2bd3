/**
 * The hub daemon (`vigil run`'s process): config → store → hub → HTTP API, with reload on file change
 * and SIGHUP, and periodic pruning. It sits above both the hub and the API (the API reads the hub's
 * view), so that neither imports the other's wiring.
 */
import { type Logger, pino } from 'pino';
import { createNotifiers } from '../alerting/notifiers/index.js';
import { createApi } from '../api/index.js';
import { loadConfig } from '../config/index.js';
import { type ConfigWatcher, watchConfigFile } from '../config/watch.js';
import { UsageError } from '../errors.js';
import { createHub } from '../hub/hub.js';
import { createMetrics } from '../metrics/index.js';
import { openStore } from '../store/index.js';

/** Default port of the hub's API, dashboard and /metrics. */
export const DEFAULT_PORT = 7979;

/** Options of {@link runHub}: `vigil run`'s flags. */
export interface RunOptions {
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
  // Watching starts before the first load, so that an edit made while the hub starts is not missed;
  // it follows renames over the file and a ConfigMap's `..data` symlink swaps (config/watch.ts).
  let onFileChange = () => {
    changedWhileStarting = true;
  };
  let changedWhileStarting = false;
  const watcher = await watchConfigFile(opts.config, () => onFileChange(), {
    onError: (err) => logger.warn(`watching ${opts.config} failed: ${err.message}; SIGHUP still reloads`),
  });
  try {
    return await startHub(opts, logger, watcher, (reload) => {
      onFileChange = () => reload('file changed');
      if (changedWhileStarting) reload('file changed');
    });
  } catch (err) {
    watcher.close();
    throw err;
  }
}

async function startHub(
  opts: RunOptions,
  logger: Logger,
  watcher: ConfigWatcher,
  onReloadReady: (reload: (why: string) => void) => void,
): Promise<{ url: string; stop: () => Promise<void> }> {
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
  onReloadReady(reload);
  const onHup = () => reload('SIGHUP');
  process.on('SIGHUP', onHup);

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      watcher.close();
      clearInterval(pruneTimer);
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
