/**
 * The router daemon (`vigil route`'s process, or inside `vigil run --routers`): config → routers (one
 * listener each) → admin API; the hub's states over its event stream when `--hub` is given, or in
 * process from the hub `vigil run` runs, which also takes the routers' traffic as results
 * (`router/traffic.ts`); reload on file change and SIGHUP.
 */
import { type ConfigWatcher, watchConfigFile } from '../config/watch.js';
import { ConfigError, VigilError } from '../errors.js';
import type { Hub } from '../hub/hub.js';
import { createRouterAdmin } from '../router/admin.js';
import type { RouterPlan } from '../router/config.js';
import { followHub, followLocalHub, type HubFeed } from '../router/hub-feed.js';
import { loadRouterConfig } from '../router/load.js';
import { createRouterMetrics } from '../router/metrics.js';
import type { UpstreamHealth } from '../router/policy.js';
import { createRouter, type Router, type TrafficObservation } from '../router/proxy.js';
import { createTrafficReporter, type TrafficReporter } from '../router/traffic.js';
import type { ProbeResult } from '../types.js';
import { LOG_LEVELS } from './log-levels.js';
import { createLogger } from './logger.js';

/** Options of {@link runRouters}: `vigil route`'s flags. */
export interface RouteOptions {
  config: string;
  /** Address of the admin API (`/metrics`, drain, restore). */
  adminHost: string;
  adminPort: number;
  /** The hub's base URL, to follow its states; none: passive signals only. */
  hub?: string;
  /** Bearer token of drain and restore (`VIGIL_ROUTER_TOKEN`). */
  token?: string;
  /**
   * With `hub`: the hub's API token (`VIGIL_HUB_TOKEN`), to send it the routers' traffic results
   * (`POST /api/v1/traffic`); without it the hub gets states only.
   */
  hubToken?: string;
  /** One of {@link LOG_LEVELS} (daemon/logger.ts). */
  logLevel: string;
  /** One of {@link LOG_FORMATS} (daemon/logger.ts). Default: `pretty` when stdout is a terminal, else `json`. */
  logFormat?: string;
  /**
   * `--region`: run only the routers placed in this region (`routers[].region`; one without it is
   * the hub's region's). Default: every router of the config. In process (`local`), always the
   * hub's region: a router placed elsewhere runs under `vigil route --region` there.
   */
  region?: string;
  /** Every attempt's outcome, as it happens (tests, benches). */
  onObservation?: (observation: TrafficObservation) => void;
  /**
   * The hub of this process (`vigil run --routers`): its states drive the routers (as `--hub` does
   * over HTTP), and each router's traffic reaches it as results of source `traffic`
   * (`Hub.ingest`) from `region`.
   */
  local?: { hub: Pick<Hub, 'status' | 'subscribe' | 'ingest'>; region: string };
}

/** A running `vigil route`. */
export interface RunningRouters {
  /** Router name → its address. */
  urls: Record<string, string>;
  adminUrl: string;
  stop(): Promise<void>;
}

/**
 * Starts every router of the config and the admin API; resolves once all listen.
 *
 * @throws UsageError `VIGIL_ERR_USAGE` (a bad log level); ConfigError `VIGIL_ERR_CONFIG_INVALID` /
 *   `VIGIL_ERR_CONFIG_READ` with the config's diagnostics, or `VIGIL_ERR_ROUTER_FALLBACK`;
 *   VigilError `VIGIL_ERR_ROUTER_LISTEN` when a router's or the admin API's address cannot be bound.
 *   Nothing is left running when it throws.
 */
export async function runRouters(opts: RouteOptions): Promise<RunningRouters> {
  const logger = createLogger({ level: opts.logLevel, format: opts.logFormat });
  const loaded = await loadRouterConfig(opts.config);
  if (!loaded.ok)
    throw new ConfigError(loaded.code, `${opts.config}: the routers did not start`, loaded.diagnostics);

  const metrics = createRouterMetrics();
  const routers = new Map<string, Router>();
  const reporters = new Map<string, TrafficReporter>();
  const { local } = opts;
  const remote =
    local === undefined && opts.hub !== undefined && opts.hubToken
      ? createTrafficSender(opts.hub, opts.hubToken, (message) => logger.warn(message))
      : undefined;
  const emit = local !== undefined ? (r: ProbeResult) => local.hub.ingest(r) : remote?.push;
  const region = local?.region ?? opts.region;
  /**
   * The routers of `plans` this process runs: those placed in `region`, or all without one. In
   * process, the config's own region is the hub's (`vigil run --region` may rename it), as the hub's
   * traffic checks have it (`buildTrafficPlan`).
   */
  const placed = (plans: readonly RouterPlan[], configRegion: string) => {
    const here =
      local === undefined || local.region === configRegion
        ? plans
        : plans.map((p) => (p.region === configRegion ? { ...p, region: local.region } : p));
    return region === undefined ? here : here.filter((p) => p.region === region);
  };
  const initial = placed(loaded.routers, loaded.config.config.region);
  for (const p of loaded.routers)
    if (region !== undefined && !initial.some((q) => q.name === p.name))
      logger.info(
        { router: p.name, region: p.region },
        `router ${p.name} is placed in region ${p.region}, not ${region}: run it with \`vigil route --region ${p.region}\` there`,
      );
  if (local === undefined && initial.length === 0)
    throw new ConfigError(
      'VIGIL_ERR_CONFIG_INVALID',
      `${opts.config}: no router is placed in region "${region}" (the routers' regions: ${[...new Set(loaded.routers.map((p) => p.region))].join(', ')})`,
      [],
    );
  const given = opts.onObservation;
  const onObservation =
    emit === undefined
      ? given
      : (o: TrafficObservation) => {
          reporters.get(o.router)?.observe(o);
          given?.(o);
        };
  const deps = {
    metrics,
    log: (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) =>
      logger[level](fields ?? {}, message),
    ...(onObservation && { onObservation }),
  };
  let feed: HubFeed | undefined;
  /**
   * A router started or an upstream added by a reload takes the hub's current states at once: the
   * feed reports a target again only when its state changes.
   */
  const applyKnown = (router: Router) => {
    if (feed === undefined) return;
    for (const u of router.plan.upstreams)
      router.setUpstreamState(u.name, feed.healthOf(u.name, router.plan.region));
  };
  const start = async (plan: RouterPlan) => {
    const router = await createRouter(plan, deps);
    try {
      await router.listen();
    } catch (err) {
      await router.close(0);
      throw listenError(
        `router "${plan.name}"`,
        plan.host,
        plan.port,
        err,
        `change routers[].listen of "${plan.name}"`,
      );
    }
    applyKnown(router);
    routers.set(plan.name, router);
    if (emit !== undefined)
      reporters.set(plan.name, createTrafficReporter(router, { region: plan.region, emit }));
    return router;
  };
  const stopRouter = async (name: string) => {
    reporters.get(name)?.close();
    reporters.delete(name);
    await routers.get(name)?.close();
    routers.delete(name);
  };
  const admin = await createRouterAdmin({
    routers: () => [...routers.values()],
    metrics,
    ...(opts.token && { token: opts.token }),
  });
  let watcher: ConfigWatcher | undefined;
  const closeAll = async () => {
    watcher?.close();
    feed?.close();
    await Promise.all([...routers.keys()].map(stopRouter));
    await remote?.close();
    await admin.close();
  };
  try {
    for (const plan of initial) await start(plan);
    try {
      await admin.listen({ host: opts.adminHost, port: opts.adminPort });
    } catch (err) {
      throw listenError('the admin API', opts.adminHost, opts.adminPort, err, 'pass another --admin-port');
    }
  } catch (err) {
    await closeAll();
    throw err;
  }
  const address = admin.server.address();
  const adminUrl =
    address && typeof address === 'object'
      ? `http://${address.address}:${address.port}`
      : `http://${opts.adminHost}`;

  const setState = (target: string, state: UpstreamHealth, region: string) => {
    for (const r of routers.values()) if (r.plan.region === region) r.setUpstreamState(target, state);
  };
  const regions = () => [...routers.values()].map((r) => r.plan.region);
  if (local !== undefined) feed = followLocalHub(local.hub, setState, regions);
  else if (opts.hub !== undefined) {
    feed = followHub({
      url: opts.hub,
      log: (level, message) => logger[level](message),
      onState: setState,
      regions,
    });
  }

  // Reload: routers kept by name are updated in place (no connection dropped), new ones start,
  // removed ones stop. An invalid edit is reported and the running routers stay.
  let reloading: Promise<void> = Promise.resolve();
  const reload = (why: string) => {
    reloading = reloading.then(async () => {
      const next = await loadRouterConfig(opts.config);
      if (!next.ok) {
        logger.error(
          { diagnostics: next.diagnostics },
          `config reload (${why}) rejected; the running routers stay`,
        );
        return;
      }
      try {
        const wanted = placed(next.routers, next.config.config.region);
        const names = new Set(wanted.map((p) => p.name));
        for (const name of [...routers.keys()]) {
          if (names.has(name)) continue;
          await stopRouter(name);
          logger.info({ router: name }, `router ${name} removed`);
        }
        for (const plan of wanted) {
          const running = routers.get(plan.name);
          if (running) {
            await running.update(plan);
            // An upstream the update added starts `unknown`: it takes the hub's state now.
            applyKnown(running);
          } else await start(plan);
        }
        logger.info({ routers: routers.size }, `config reloaded (${why})`);
      } catch (err) {
        logger.error(`config reload (${why}) failed: ${(err as Error).message}`);
      }
    });
  };
  watcher = await watchConfigFile(opts.config, () => reload('file changed'), {
    onError: (err) => logger.warn(`watching ${opts.config} failed: ${err.message}; SIGHUP still reloads`),
  });
  const onHup = () => reload('SIGHUP');
  process.on('SIGHUP', onHup);

  const urls = Object.fromEntries([...routers].map(([name, r]) => [name, r.url]));
  logger.info(
    { routers: urls, admin: adminUrl, hub: local ? 'in process' : (opts.hub ?? null) },
    'vigil route running',
  );

  let stopped: Promise<void> | undefined;
  return {
    urls,
    adminUrl,
    stop() {
      stopped ??= (async () => {
        process.off('SIGHUP', onHup);
        await reloading;
        await closeAll();
        logger.info('vigil route stopped');
      })();
      return stopped;
    },
  };
}

const LISTEN_ADVICE: Readonly<Record<string, string>> = {
  EADDRINUSE: 'the port is in use by another process',
  EACCES: 'not permitted (ports below 1024 need privileges)',
  EADDRNOTAVAIL: "the address is not one of this machine's",
  ENOTFOUND: 'the host name does not resolve',
};

/** A `listen` failure as one line: what, where, why, and what to do (`VIGIL_ERR_ROUTER_LISTEN`, exit 4). */
function listenError(what: string, host: string, port: number, err: unknown, todo: string): VigilError {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  const why = LISTEN_ADVICE[code] ?? (err as Error).message;
  return new VigilError(
    'VIGIL_ERR_ROUTER_LISTEN',
    `${what} cannot listen on ${address} (${code || 'error'}): ${why}: ${todo}`,
    {
      cause: err,
    },
  );
}

/** Most traffic results kept for the hub while it cannot be reached; older ones are dropped first. */
const MAX_PENDING_RESULTS = 10_000;

/**
 * Sends traffic results to a hub in another process (`POST /api/v1/traffic`), in batches every
 * 250 ms; while the hub cannot be reached they wait (at most {@link MAX_PENDING_RESULTS}), and one
 * warning says so per outage.
 */
function createTrafficSender(hub: string, token: string, warn: (message: string) => void) {
  const url = `${hub.replace(/\/+$/, '')}/api/v1/traffic`;
  let pending: ProbeResult[] = [];
  let failing = false;
  let sending: Promise<void> = Promise.resolve();
  const send = async () => {
    if (pending.length === 0) return;
    const batch = pending.slice(0, 1000);
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ results: batch }),
        signal: AbortSignal.timeout(5000),
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`);
      const { rejected } = (await res.json()) as { rejected: string[] };
      pending = pending.slice(batch.length);
      if (rejected.length > 0 && !failing)
        warn(
          `the hub has no traffic check for ${[...new Set(rejected)].join(', ')}: does it read the same config?`,
        );
      failing = rejected.length > 0;
    } catch (error) {
      if (!failing)
        warn(`sending traffic results to the hub at ${url} failed (${(error as Error).message}); retrying`);
      failing = true;
    }
  };
  const timer = setInterval(() => {
    sending = sending.then(send);
  }, 250);
  timer.unref();
  return {
    push(result: ProbeResult) {
      pending.push(result);
      if (pending.length > MAX_PENDING_RESULTS) pending.splice(0, pending.length - MAX_PENDING_RESULTS);
    },
    async close() {
      clearInterval(timer);
      await sending;
      await send();
    },
  };
}
