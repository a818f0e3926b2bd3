/**
 * The hub daemon (`vigil run`'s process): config → store → hub → HTTP API, with reload on file change
 * and SIGHUP, and periodic pruning. It sits above both the hub and the API (the API reads the hub's
 * view), so that neither imports the other's wiring.
 */

import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, resolve as resolvePath } from 'node:path';
import type { Logger } from 'pino';
import { createNotifiers } from '../alerting/notifiers/index.js';
import { createApi } from '../api/index.js';
import { planDiscovered } from '../config/discovered.js';
import type { KubernetesDiscoveryConfig } from '../config/discovery.js';
import { type FailedConfig, loadConfig } from '../config/index.js';
import type { LoadedConfig } from '../config/load.js';
import { createOffThreadLoader } from '../config/off-thread.js';
import { buildTrafficPlan } from '../config/plan.js';
import { agentDownAfterMs } from '../config/regions.js';
import { type ConfigWatcher, watchConfigFile } from '../config/watch.js';
import { parseDuration } from '../diagnostics/duration.js';
import type { Discovered, KubernetesDiscovery } from '../discovery/index.js';
import { mergeDiscovered, startKubernetesDiscovery } from '../discovery/index.js';
import { ConfigError, UsageError, VigilError } from '../errors.js';
import {
  type ClusterMember,
  createClusterMember,
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_LEASE_MS,
  DEFAULT_SAFETY_MARGIN_MS,
} from '../hub/cluster.js';
import { createHub, type HubAgents } from '../hub/hub.js';
import { createMetrics } from '../metrics/index.js';
import { DEFAULT_ADMIN_PORT } from '../router/admin.js';
import { openStore } from '../store/index.js';
import { createLogger, type LOG_FORMATS, type LOG_LEVELS } from './logger.js';
import { type RunningRouters, runRouters } from './route.js';

/** Default port of the hub's API, dashboard and /metrics. */
export const DEFAULT_PORT = 7979;

export { LOG_FORMATS, LOG_LEVELS } from './logger.js';

/** Options of {@link runHub}: `vigil run`'s flags. */
export interface RunOptions {
  config: string;
  port: number;
  host: string;
  store: string;
  region?: string;
  token?: string;
  /** One of {@link LOG_LEVELS}. */
  logLevel: string;
  /** One of {@link LOG_FORMATS}. Default: `pretty` when stdout is a terminal, else `json`. */
  logFormat?: string;
  /** Raw results are kept this many days, then folded into per-minute rollups. Default 7. */
  retentionDays?: number;
  /** `/metrics` at the detail level (packages/vigil/METRICS.md). Default false: the default level. */
  metricsDetail?: boolean;
  /** Largest config file accepted, at start and on reload, in bytes. Default `DEFAULT_MAX_CONFIG_BYTES` (10 MiB). */
  maxConfigBytes?: number;
  /**
   * Runs the config's `routers:` in this process too (`vigil run --routers`): they follow the hub's
   * states in process and feed it their traffic (`<target>/traffic:<router>` checks). Default false:
   * `vigil route` runs them beside the model instead.
   */
  routers?: boolean;
  /** The routers' admin API (`/metrics`, drain, restore). Default 127.0.0.1:7980. */
  routerAdminHost?: string;
  routerAdminPort?: number;
  /** Bearer token of the routers' drain and restore (`VIGIL_ROUTER_TOKEN`). */
  routerToken?: string;
  /** `--dry-run-actions`: record what recovery actions would run, run none. Default false. */
  dryRunActions?: boolean;
  /**
   * `--cluster`: one of several hubs on one PostgreSQL (`hub/cluster.ts`): this hub probes the checks
   * whose shard lease it holds, and shows every check. Needs a `postgres://` store. Default false.
   */
  cluster?: boolean;
}

/**
 * The hub's checks: the file targets' probes, the discovered targets' (validated with the file's
 * schema; `discovery/merge.ts`), and the routers' traffic checks.
 */
function hubPlan(loaded: LoadedConfig, discovered: readonly Discovered[] = []) {
  const merged = mergeDiscovered(loaded.config, discovered);
  return {
    plan: [
      ...loaded.plan,
      ...planDiscovered(loaded.config, merged.targets),
      ...buildTrafficPlan(loaded.config),
    ],
    discovered: merged.targets.length,
    diagnostics: merged.diagnostics,
  };
}

/** A running `vigil run`. */
export interface RunningHub {
  /** The API's address. */
  url: string;
  /** With `routers`: router name → its address. */
  routers?: Record<string, string>;
  /** With `routers`: the routers' admin API. */
  routerAdminUrl?: string;
  stop: () => Promise<void>;
}

/** How often the hub prunes the store: raw results past retention become per-minute rollups. */
export const PRUNE_INTERVAL_MS = 60 * 60_000;

/**
 * Starts the hub and resolves once it is listening; returns a function that stops it.
 *
 * @throws UsageError `VIGIL_ERR_USAGE` (a log level or format not in {@link LOG_LEVELS} /
 *   {@link LOG_FORMATS}); ConfigError `VIGIL_ERR_CONFIG_INVALID` / `VIGIL_ERR_CONFIG_READ` with the
 *   config's diagnostics; StoreError from
 *   `openStore`; VigilError `VIGIL_ERR_API_LISTEN` when the port cannot be bound (in use, not
 *   permitted, not this host's address). Nothing is left running when it throws.
 */
export async function runHub(opts: RunOptions): Promise<RunningHub> {
  const logger = createLogger({ level: opts.logLevel, format: opts.logFormat });
  // Watching starts before the first load, so that an edit made while the hub starts is not missed;
  // it follows renames over the file and a ConfigMap's `..data` symlink swaps (config/watch.ts).
  let onFileChange = () => {
    changedWhileStarting = true;
  };
  let changedWhileStarting = false;
  let watcher: ConfigWatcher;
  try {
    watcher = await watchConfigFile(opts.config, () => onFileChange(), {
      onError: (err) => logger.warn(`watching ${opts.config} failed: ${err.message}; SIGHUP still reloads`),
    });
  } catch (err) {
    // The config's folder is missing or unreadable: loading says why, as it would for the file.
    const loaded = await loadConfig(opts.config, maxBytesOf(opts));
    if (!loaded.ok) throw configFailure(opts.config, loaded);
    throw new ConfigError(
      'VIGIL_ERR_CONFIG_READ',
      `${opts.config}: cannot watch the config file for changes (${(err as Error).message})`,
      [],
      { cause: err },
    );
  }
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
): Promise<RunningHub> {
  // At start nothing else runs yet: the config loads on this thread (reloads use a worker, below).
  const loaded = await loadConfig(opts.config, maxBytesOf(opts));
  if (!loaded.ok) throw configFailure(opts.config, loaded);
  let redact = loaded.redact;
  const region = opts.region ?? loaded.config.region ?? 'local';
  const knobs = loaded.config.cluster;
  const leaseMs = knobs?.leaseDuration === undefined ? DEFAULT_LEASE_MS : parseDuration(knobs.leaseDuration);
  const heartbeatMs = knobs?.heartbeat === undefined ? DEFAULT_HEARTBEAT_MS : parseDuration(knobs.heartbeat);
  const safetyMarginMs =
    knobs?.safetyMargin === undefined ? DEFAULT_SAFETY_MARGIN_MS : parseDuration(knobs.safetyMargin);
  const notShared = `--cluster needs a store several hubs can share: pass --store postgres://… (${opts.store} is a SQLite file, one hub's)`;
  if (opts.cluster === true && !/^postgres(?:ql)?:\/\//i.test(opts.store))
    throw new UsageError('VIGIL_ERR_USAGE', notShared);
  if (opts.cluster === true && loaded.config.agents !== undefined)
    throw new UsageError('VIGIL_ERR_USAGE', AGENTS_IN_CLUSTER);
  // A lease tick that does not answer within a heartbeat fails and is retried: the fence, not the
  // tick, decides when this hub stops acting (hub/cluster.ts).
  const store = await openStore(opts.store, {
    postgres: { clusterQueryTimeoutMs: Math.max(1000, heartbeatMs) },
  });
  if (opts.cluster === true && store.cluster === undefined) {
    await store.close();
    throw new UsageError('VIGIL_ERR_USAGE', notShared);
  }
  const hubId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  let member: ClusterMember | undefined;
  // Config labels are read once, at start: a reload that changes them needs a restart (README).
  const metrics = createMetrics({
    level: opts.metricsDetail ? 'detail' : 'default',
    labels: loaded.config.metrics?.labels ?? [],
  });
  let routers: RunningRouters | undefined;
  let alerting = loaded.config.alerting;
  // Discovery (discovery/): its candidates, merged with the running config's targets on every change
  // and every reload; the plan update goes through the same chain as a reload's.
  let current = loaded;
  let discovered: readonly Discovered[] = [];
  let discovery: KubernetesDiscovery | undefined;
  let reported = new Set<string>();
  let reloading: Promise<void> = Promise.resolve();
  /** Updates the hub's plan from the running config and the discovered candidates; logs new problems. */
  const applyPlan = async (why: string) => {
    const next = hubPlan(current, discovered);
    const fresh = next.diagnostics.filter((line) => !reported.has(line));
    for (const line of fresh) logger.warn(`discovered target left out: ${line}`);
    reported = new Set(next.diagnostics);
    await hub.update(next.plan);
    return { why, discovered: next.discovered, problems: next.diagnostics.length };
  };
  const startDiscovery = async (config: KubernetesDiscoveryConfig) => {
    try {
      return await startKubernetesDiscovery(config, {
        log: (level, message) => logger[level](message),
        onChange: (candidates) => {
          discovered = candidates;
          reloading = reloading.then(async () => {
            try {
              const applied = await applyPlan('discovery');
              logger.info({ checks: hub.status().length, ...applied }, 'discovered targets updated');
            } catch (err) {
              logger.error(`discovered targets not applied: ${(err as Error).message}`);
            }
          });
        },
      });
    } catch (err) {
      throw new ConfigError(
        'VIGIL_ERR_CONFIG_INVALID',
        `discovery.kubernetes: cannot reach the Kubernetes API: ${(err as Error).message}`,
        [`discovery.kubernetes: ${(err as Error).message}`],
        { cause: err },
      );
    }
  };
  // The loader validated the notifier blocks with everything else; they are built here only: once at
  // start, and once per reload that changes the alerting section.
  const notifiers = createNotifiers(alerting?.notifiers);
  let agents = await resolveAgents(loaded, opts.config);
  const hub = createHub({
    ...(alerting ? { alerting: { config: alerting, notifiers } } : {}),
    ...(agents.hub !== undefined && { agents: agents.hub }),
    plan: hubPlan(loaded).plan,
    store,
    metrics,
    region,
    actions: { dryRun: opts.dryRunActions === true, owner: hubId },
    ...(opts.cluster === true && { cluster: { owns: (checkId: string) => member?.owns(checkId) ?? false } }),
    log: (level, message, fields) => logger[level](fields ?? {}, redact(message)),
    // Through the variable: a reload swaps in the new config's secrets.
    redact: (text) => redact(text),
  });
  // The port is taken before the hub starts, so a hub that cannot serve never probes, resumes
  // incidents or sends a notification; whatever was opened is closed again on the way out.
  const api = await createApi({
    hub,
    metrics,
    ...(opts.token ? { token: opts.token } : {}),
    agents: {
      // Through the variable: a reload swaps in the new tokens.
      tokenOf: (r) => agents.tokens.get(r),
      maxBatchBytes: loaded.config.agents?.maxBatchBytes,
      log: (level, message, fields) => logger[level](fields ?? {}, message),
    },
  });
  try {
    try {
      await api.listen({ host: opts.host, port: opts.port });
    } catch (err) {
      throw listenError(opts.host, opts.port, err);
    }
    if (opts.cluster === true && store.cluster !== undefined) {
      member = createClusterMember({
        leases: store.cluster,
        hubId,
        url: urlOf(api.server.address(), opts),
        leaseMs,
        heartbeatMs,
        safetyMarginMs,
        onChange: () => void hub.ownershipChanged(),
        log: (level, message, fields) => logger[level](fields ?? {}, message),
      });
      await member.start();
    }
    await hub.start();
    if (member !== undefined) await hub.ownershipChanged();
    if (opts.routers === true && (loaded.config.routers?.length ?? 0) > 0) {
      routers = await runRouters({
        config: opts.config,
        adminHost: opts.routerAdminHost ?? '127.0.0.1',
        adminPort: opts.routerAdminPort ?? DEFAULT_ADMIN_PORT,
        logLevel: opts.logLevel,
        ...(opts.routerToken !== undefined && { token: opts.routerToken }),
        local: { hub, region },
      });
    }
    if (loaded.config.discovery?.kubernetes !== undefined)
      discovery = await startDiscovery(loaded.config.discovery.kubernetes);
  } catch (err) {
    await routers?.stop().catch(() => {});
    await hub.stop().catch(() => {});
    await member?.stop().catch(() => {});
    await api.close().catch(() => {});
    await store.close().catch(() => {});
    throw err;
  }
  const url = urlOf(api.server.address(), opts);
  if (opts.dryRunActions) logger.warn('--dry-run-actions: recovery actions are recorded, not run');
  logger.info(
    {
      url,
      checks: hub.status().length,
      store: opts.store.replace(/\/\/[^@/]*@/, '//'),
      ...(member !== undefined && { hubId, leaseMs, heartbeatMs, safetyMarginMs }),
    },
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

  // Each reload starts its worker (config/off-thread.ts): a warm spare held between reloads was
  // 65–85 MB of the hub's RSS (a fresh `vigil run --cluster` of 4 checks: 190–214 MB with it, 122–132
  // without) to save a reload the worker's boot, ~0.85 s. Reloads are rare, and wait off the event loop.
  const loader = createOffThreadLoader({ warm: false });
  const reload = (why: string) => {
    reloading = reloading.then(async () => {
      // Parsed and validated in a worker thread, received in chunks: the probes, the API and /livez
      // keep being served while a large config loads (config/off-thread.ts).
      const loadStarted = performance.now();
      const next = await loader.load(opts.config, maxBytesOf(opts));
      const loadMs = Math.round(performance.now() - loadStarted);
      if (!next.ok) {
        logger.error(
          { diagnostics: next.diagnostics },
          `config reload (${why}) rejected; the running config stays`,
        );
        return;
      }
      if (opts.cluster === true && next.config.agents !== undefined) {
        logger.error(`config reload (${why}) rejected: ${AGENTS_IN_CLUSTER}; the running config stays`);
        return;
      }
      try {
        agents = await resolveAgents(next, opts.config);
      } catch (err) {
        logger.error(`config reload (${why}) rejected: ${(err as Error).message}; the running config stays`);
        return;
      }
      hub.updateAgents(agents.hub);
      const kubernetes = next.config.discovery?.kubernetes;
      if (JSON.stringify(kubernetes) !== JSON.stringify(current.config.discovery?.kubernetes)) {
        await discovery?.stop();
        discovery = undefined;
        discovered = [];
        if (kubernetes !== undefined)
          discovery = await startDiscovery(kubernetes).catch((err: Error) => {
            logger.error(`${err.message}; discovery stays off until the next reload`);
            return undefined;
          });
      }
      const running = current;
      current = next;
      // While the update runs, both plans' checks probe: both configs' secrets are redacted.
      const previous = redact;
      redact = (text) => next.redact(previous(text));
      const updateStarted = performance.now();
      try {
        // In slices over event-loop turns (hub.ts `applyPlan`): logged so that a slow one shows.
        await applyPlan(why);
      } catch (err) {
        redact = previous;
        current = running;
        logger.error(`config reload (${why}) rejected: ${(err as Error).message}; the running config stays`);
        return;
      }
      const updateMs = Math.round(performance.now() - updateStarted);
      redact = next.redact;
      if (JSON.stringify(next.config.alerting) !== JSON.stringify(alerting)) {
        alerting = next.config.alerting;
        await hub.updateAlerting(
          alerting ? { config: alerting, notifiers: createNotifiers(alerting.notifiers) } : undefined,
        );
        logger.info(alerting ? 'alerting reloaded' : 'alerting removed: no notifications from now on');
      }
      logger.info({ checks: hub.status().length, loadMs, updateMs }, `config reloaded (${why})`);
    });
  };
  onReloadReady(reload);
  const onHup = () => reload('SIGHUP');
  process.on('SIGHUP', onHup);

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      watcher.close();
      await discovery?.stop();
      clearInterval(pruneTimer);
      process.off('SIGHUP', onHup);
      await reloading;
      loader.close();
      await pruning;
      // The routers first: their last reports still reach a running hub.
      await routers?.stop();
      await hub.stop();
      // After the hub stopped probing: the shards are released, the other hubs take them at once.
      await member?.stop();
      await api.close();
      await store.close();
      logger.info('vigil hub stopped');
    })();
    return stopped;
  };
  return { url, ...(routers && { routers: routers.urls, routerAdminUrl: routers.adminUrl }), stop };
}

/**
 * Why `--cluster` refuses `agents:`: an agent's results reach the one hub it posts to, which would
 * judge every check's remote regions (and see the agent up) while the other hubs would see it down;
 * the agent API is not leased like the probes yet.
 */
const AGENTS_IN_CLUSTER =
  '--cluster does not take agents yet (the config has agents:): an agent reports to one hub, which is not the one holding each check (README, "Several hubs")';

/** The API's URL from its bound address. */
function urlOf(address: ReturnType<import('node:net').Server['address']>, opts: RunOptions): string {
  return address && typeof address === 'object'
    ? `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`
    : `http://${opts.host}:${opts.port}`;
}

function maxBytesOf(opts: RunOptions): { maxBytes?: number } {
  return opts.maxConfigBytes === undefined ? {} : { maxBytes: opts.maxConfigBytes };
}

/**
 * A config that cannot be loaded, as a ConfigError whose diagnostics the CLI prints one per line on
 * stderr (as `vigil validate` does), then `error: FILE: the hub did not start`; exit 2.
 */
function configFailure(file: string, result: FailedConfig): ConfigError {
  return new ConfigError(result.code, `${file}: the hub did not start`, result.diagnostics);
}

/** Advice for the socket errors `listen` meets at start-up, by errno code. */
const LISTEN_ADVICE: Readonly<Record<string, string>> = {
  EADDRINUSE: 'the port is in use by another process: stop it, or pass another --port',
  EACCES: 'not permitted (ports below 1024 need privileges): pass --port 1024 or above',
  EADDRNOTAVAIL:
    "the address is not one of this machine's: pass --host 127.0.0.1, 0.0.0.0 or an address it has",
  ENOTFOUND: 'the host name does not resolve: pass --host with an IP address or a resolvable name',
  EAI_AGAIN: 'the host name could not be resolved now (DNS): pass --host with an IP address',
};

/** A `listen` failure as one line with the address and what to do (`VIGIL_ERR_API_LISTEN`, exit 4). */
function listenError(host: string, port: number, err: unknown): VigilError {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  const advice = LISTEN_ADVICE[code] ?? (err as Error).message;
  return new VigilError(
    'VIGIL_ERR_API_LISTEN',
    `cannot listen on ${address} (${code || 'error'}): ${advice}`,
    {
      cause: err,
    },
  );
}

/**
 * The `agents:` block resolved: each region's token (from the config's interpolated `token`, or read
 * from `tokenFile`, relative to the config file, trimmed), and what the hub expects of them.
 *
 * @throws ConfigError `VIGIL_ERR_CONFIG_READ` when a token file cannot be read or is empty
 */
async function resolveAgents(
  loaded: LoadedConfig,
  configFile: string,
): Promise<{ tokens: Map<string, string>; hub: HubAgents | undefined }> {
  const spec = loaded.config.agents;
  const tokens = new Map<string, string>();
  if (spec === undefined) return { tokens, hub: undefined };
  for (const [region, agent] of Object.entries(spec.regions)) {
    let token = agent.token;
    if (agent.tokenFile !== undefined) {
      const path = resolvePath(dirname(resolvePath(configFile)), agent.tokenFile);
      try {
        token = (await readFile(path, 'utf8')).trim();
      } catch (err) {
        throw new ConfigError(
          'VIGIL_ERR_CONFIG_READ',
          `agents.regions["${region}"].tokenFile: cannot read ${path}: ${(err as Error).message}`,
          [],
          { cause: err },
        );
      }
      if (token.length < 16)
        throw new ConfigError(
          'VIGIL_ERR_CONFIG_READ',
          `agents.regions["${region}"].tokenFile: ${path} holds fewer than 16 characters`,
        );
    }
    if (token !== undefined) tokens.set(region, token);
  }
  return { tokens, hub: { regions: [...tokens.keys()], downAfterMs: agentDownAfterMs(spec) } };
}
