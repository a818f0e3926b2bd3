/**
 * What a router runs: its `routers:` entry (validated by `config/routers.ts`) resolved against the
 * config's targets, durations in milliseconds, names as URLs.
 */
import { isAbsolute, resolve } from 'node:path';
import { type FallbackSpec, failoverAtMsOf, parseListen, type RouterSpec } from '../config/routers.js';
import { parseDuration } from '../diagnostics/duration.js';

export {
  checkRouterTargets,
  type FallbackSpec,
  OUTLIER_DEFAULTS,
  POLICY_DEFAULTS,
  type PolicySpec,
  parseListen,
  type RouterSpec,
  type RoutersInput,
  routerSchema,
  routersSchema,
  TRAFFIC_DEFAULTS,
  type TrafficSpec,
  trafficCheckId,
} from '../config/routers.js';

// ---------------------------------------------------------------------------------------------
// Resolved plans: what the data path runs on

/** One upstream of a router, resolved: the target's name and base URL, and its role. */
export interface UpstreamPlan {
  /** The target's name. */
  name: string;
  /** The target's base URL (no trailing slash); requests go to this origin with the client's path. */
  url: string;
  role: 'primary' | 'secondary';
}

/** A fallback, resolved: a module's absolute path and export, or a static answer (body as bytes). */
export type FallbackPlan =
  | { kind: 'module'; path: string; export: string }
  | { kind: 'static'; status: number; headers: Record<string, string>; body: Buffer };

/** A router's policy in milliseconds; see `routerSchema` for what each field means. */
export interface PolicyPlan {
  deadlineMs: number;
  failoverAtMs: number;
  windowMs: number;
  /** `undefined`: no hedging. */
  hedgeAfterMs: number | undefined;
  hedgeMaxShare: number;
  idempotent: boolean;
  bodyCapBytes: number;
  consecutive5xx: number;
  baseEjectionMs: number;
  maxEjectedShare: number;
  returnSteps: readonly number[];
  healthyForMs: number;
}

/** One router, resolved: what {@link createRouter} runs. */
export interface RouterPlan {
  name: string;
  /**
   * The region it runs in (`routers[].region`, else the hub's `region`): whose states of its targets'
   * checks it follows, and the region of its traffic results.
   */
  region: string;
  host: string;
  port: number;
  /** The primary first, then the secondaries in config order. */
  upstreams: readonly UpstreamPlan[];
  fallback: FallbackPlan | undefined;
  policy: PolicyPlan;
  /** Its traffic as the hub's checks (`traffic:` in config/routers.ts). */
  traffic: TrafficPlan;
}

/** How a router reports its traffic to the hub, in milliseconds and shares. */
export interface TrafficPlan {
  intervalMs: number;
  errorShare: number;
}

/**
 * Resolves validated routers against the config's targets: durations to milliseconds, target names to
 * URLs, a fallback module's path against `baseDir`, a router without `region` to `hubRegion` (the
 * config's `region`).
 *
 * @throws Error when a router names a target that is not in `targets` (validation with
 *   `checkRouterTargets` rules that out first)
 */
export function resolveRouters(
  routers: readonly RouterSpec[],
  targets: ReadonlyArray<{ name: string; url: string }>,
  baseDir: string,
  hubRegion = 'local',
): RouterPlan[] {
  const urls = new Map(targets.map((t) => [t.name, t.url]));
  const url = (name: string) => {
    const found = urls.get(name);
    if (found === undefined) throw new Error(`router names an unknown target "${name}"`);
    return found;
  };
  return routers.map((router) => {
    const listen = parseListen(router.listen) as { host: string; port: number };
    const p = router.policy;
    const deadlineMs = parseDuration(p.deadline);
    return {
      name: router.name,
      region: router.region ?? hubRegion,
      host: listen.host,
      port: listen.port,
      upstreams: [
        { name: router.primary, url: url(router.primary), role: 'primary' as const },
        ...router.secondaries.map((s) => ({ name: s, url: url(s), role: 'secondary' as const })),
      ],
      fallback: resolveFallback(router.fallback, baseDir),
      policy: {
        deadlineMs,
        failoverAtMs: failoverAtMsOf(p),
        windowMs: parseDuration(p.window),
        hedgeAfterMs: p.hedgeAfter === undefined ? undefined : parseDuration(p.hedgeAfter),
        hedgeMaxShare: p.hedgeMaxShare,
        idempotent: p.idempotent,
        bodyCapBytes: p.bodyCapBytes,
        consecutive5xx: p.outlier.consecutive5xx,
        baseEjectionMs: parseDuration(p.outlier.baseEjection),
        maxEjectedShare: p.outlier.maxEjectedShare,
        returnSteps: [...p.returnSteps],
        healthyForMs: parseDuration(p.healthyFor),
      },
      traffic: { intervalMs: parseDuration(router.traffic.interval), errorShare: router.traffic.errorShare },
    };
  });
}

function resolveFallback(fallback: FallbackSpec | undefined, baseDir: string): FallbackPlan | undefined {
  if (fallback === undefined) return undefined;
  if (fallback.module !== undefined) {
    const path = isAbsolute(fallback.module) ? fallback.module : resolve(baseDir, fallback.module);
    return { kind: 'module', path, export: fallback.export ?? 'default' };
  }
  const headers: Record<string, string> = { ...fallback.headers };
  let body: Buffer;
  if (fallback.body === undefined) body = Buffer.alloc(0);
  else if (typeof fallback.body === 'string') body = Buffer.from(fallback.body);
  else {
    body = Buffer.from(JSON.stringify(fallback.body));
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type'))
      headers['content-type'] = 'application/json';
  }
  return { kind: 'static', status: fallback.status ?? 200, headers, body };
}
