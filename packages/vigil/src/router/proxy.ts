/**
 * The router's data path: a node:http server per router, undici pools per upstream, and per request
 * the attempts, the hedge, the deadline and the fallback.
 *
 * Per request: an idempotent request's body is buffered up to `bodyCapBytes` (so it can be replayed
 * and hedged), any other body streams to the one upstream that gets it. The policy picks the upstream;
 * the first answer that is not an upstream failure wins, and its response streams back untouched
 * (server-sent events pass through byte for byte) with `x-vigil-served-by: primary|secondary`. An
 * upstream failure (5xx, reset, refused) on a replayable request is retried on the next upstream at
 * once; after `hedgeAfter` with no answer a copy goes to the next upstream (within the hedge budget,
 * except for a request waiting on an upstream the router has failed over from, e.g. the primary
 * demoted for its p95: its copy goes whatever the budget, at once if the budget had refused it);
 * at the deadline every attempt is cut and the fallback answers (`x-vigil-served-by: fallback`), or the
 * router does (504, or 502 when no upstream could take the request; `x-vigil-served-by: router`).
 *
 * Isolation: each router has its own pools, every wait has the deadline as its bound, and response
 * bodies stream with backpressure, so an upstream that hangs or trickles holds only its own requests'
 * sockets and memory, never another router's or another request's.
 */

import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable, Writable } from 'node:stream';
import { Pool } from 'undici';
import type { ProbeErrorCode } from '../types.js';
import type { RouterPlan } from './config.js';
import { type Fallback, type FallbackRequest, loadFallback } from './fallback.js';
import type { AttemptOutcome, RouterMetrics, ServedBy } from './metrics.js';
import {
  createRoutePolicy,
  type PolicyDecision,
  type PolicyStatus,
  type RoutePolicy,
  type UpstreamHealth,
  type UpstreamRuntime,
} from './policy.js';

/** The response header that says who answered: `primary`, `secondary`, `fallback` or `router`. */
export const SERVED_BY_HEADER = 'x-vigil-served-by';

/** How often a router re-reads its signals (p95, ejections that ended, return steps): 100 ms. */
export const TICK_MS = 100;

/**
 * Most connections a router keeps to one upstream. A hung upstream holds at most this many sockets,
 * each for at most the deadline.
 */
export const MAX_CONNECTIONS_PER_UPSTREAM = 256;

/**
 * How long requests in flight may take to finish when a router stops or moves to another address
 * (a reload): 10 s, then their connections are cut.
 */
export const CLOSE_GRACE_MS = 10_000;

/** Methods that are idempotent by definition (RFC 9110 §9.2.2): replayed and hedged on any route. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Hop-by-hop headers (RFC 9110 §7.6.1) and those undici sets itself; never forwarded. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
  'host',
]);

/**
 * What the router saw of one attempt at an upstream, summed up per upstream and interval into a
 * ProbeResult of source `traffic` for the hub (`traffic.ts`). `fail` is an upstream failure only: a 5xx, a
 * timeout (cut at the deadline after running past `failoverAt`), a reset or a refused connection;
 * a client's 4xx is a `pass` (the upstream did its job), and cancelled attempts are not observed.
 */
export interface TrafficObservation {
  router: string;
  /** The target's name. */
  target: string;
  role: 'primary' | 'secondary';
  /** ms since epoch. */
  startedAt: number;
  /** Until the response headers (or the failure), in ms. */
  durationMs: number;
  outcome: 'pass' | 'fail';
  httpStatus?: number;
  error?: { code: ProbeErrorCode; message: string };
  /** This attempt was a hedged copy. */
  hedge: boolean;
}

/** Where the router writes: logs (decisions with their reasons), metrics, observations. */
export interface RouterDeps {
  metrics: RouterMetrics;
  log: (
    level: 'debug' | 'info' | 'warn' | 'error',
    message: string,
    fields?: Record<string, unknown>,
  ) => void;
  /** Every attempt's outcome, for the hub (source `traffic`); nothing is built when absent. */
  onObservation?: (observation: TrafficObservation) => void;
  /** Clock, ms since epoch. Default `Date.now`. */
  now?: () => number;
  /** In [0, 1); draws the primary's share during a return. Default `Math.random`. */
  random?: () => number;
}

/** A router's state as the admin API shows it. */
export interface RouterStatus extends PolicyStatus {
  name: string;
  /** The address it listens on, e.g. `http://127.0.0.1:8090`. */
  url: string;
}

/** One running router (one `routers:` entry). */
export interface Router {
  readonly name: string;
  /** The plan it runs now (the latest {@link update}'s). */
  readonly plan: RouterPlan;
  /** Its address once listening, e.g. `http://127.0.0.1:8090`. */
  readonly url: string;
  /** Starts listening; resolves to {@link url}. */
  listen(): Promise<string>;
  /**
   * Applies a reloaded plan without dropping a connection: requests in flight finish on the old
   * plan; what was learnt about unchanged upstreams is kept; a new address is bound before the old
   * one stops accepting.
   */
  update(plan: RouterPlan): Promise<void>;
  /** The hub's state of a target (all its checks); false when this router does not use it. */
  setUpstreamState(target: string, state: UpstreamHealth): boolean;
  /** Drains (`true`) or restores an upstream; false when this router does not use it. */
  setDrained(target: string, drained: boolean): boolean;
  status(): RouterStatus;
  /**
   * Stops accepting; requests in flight get `graceMs` (default {@link CLOSE_GRACE_MS}) to finish
   * (a stream may never end by itself), then their connections and the pools are closed.
   */
  close(graceMs?: number): Promise<void>;
}

interface Route {
  readonly plan: RouterPlan;
  readonly policy: RoutePolicy;
  readonly pools: Map<string, Pool>;
  readonly fallback: Fallback | undefined;
  /**
   * Requests whose hedge the budget refused, still waiting: each hedges (if it still waits on an
   * upstream the router has failed over from) when the primary is demoted. At most the requests in
   * flight.
   */
  readonly refusedHedges: Set<() => void>;
}

/**
 * Creates a router for `plan`; call {@link Router.listen} to start it.
 *
 * @example
 * ```ts
 * const [plan] = resolveRouters(config.routers, config.targets, dir);
 * const router = await createRouter(plan, { metrics: createRouterMetrics(), log: console.log });
 * console.log(await router.listen());
 * ```
 * @throws ConfigError `VIGIL_ERR_ROUTER_FALLBACK` when the fallback module cannot be loaded
 */
export async function createRouter(initial: RouterPlan, deps: RouterDeps): Promise<Router> {
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const { metrics, log } = deps;
  const observe = deps.onObservation;
  const name = initial.name;

  const decide = (decision: PolicyDecision) => {
    const level = decision.kind === 'eject' || decision.kind === 'demote' ? 'warn' : 'info';
    log(level, `router ${name}: ${decision.kind} ${decision.upstream}: ${decision.reason}`, {
      router: name,
      decision: decision.kind,
      upstream: decision.upstream,
      reason: decision.reason,
      ...(decision.share !== undefined && { share: decision.share }),
    });
    if (decision.kind === 'eject') metrics.ejection(name, decision.upstream);
    if (decision.kind === 'demote') metrics.failover(name, decision.upstream);
  };

  const buildRoute = async (plan: RouterPlan, previous?: Route): Promise<Route> => {
    const fallback = plan.fallback === undefined ? undefined : await loadFallback(plan.fallback);
    const pools = new Map<string, Pool>();
    for (const u of plan.upstreams) {
      if (pools.has(u.url)) continue;
      pools.set(
        u.url,
        previous?.pools.get(u.url) ??
          new Pool(u.url, {
            connections: MAX_CONNECTIONS_PER_UPSTREAM,
            // The deadline bounds the wait for headers (an abort); these are only backstops.
            headersTimeout: plan.policy.deadlineMs + 1000,
            connectTimeout: plan.policy.deadlineMs + 1000,
          }),
      );
    }
    const refusedHedges = new Set<() => void>();
    const policy = createRoutePolicy(plan.upstreams, plan.policy, {
      hasFallback: fallback !== undefined,
      decide: (decision) => {
        decide(decision);
        // Requests the budget refused a hedge wait on the primary just demoted: their hedges go now
        // (after the policy's tick or failure handling has finished, so it picks with the new state).
        if (decision.kind === 'demote' && refusedHedges.size > 0)
          queueMicrotask(() => {
            for (const hedge of [...refusedHedges]) hedge();
          });
      },
      ...(previous && { previous: previous.policy }),
    });
    metrics.init(
      name,
      plan.upstreams.map((u) => u.name),
    );
    return { plan, policy, pools, fallback, refusedHedges };
  };

  let route = await buildRoute(initial);
  let server: Server | undefined;
  let url = '';

  const tick = () => {
    const at = now();
    const { policy } = route;
    policy.tick(at);
    const status = policy.status(at);
    metrics.primaryShare(name, policy.primary.plan.name, status.primaryShare);
    for (const u of status.upstreams)
      metrics.available(name, u.name, !u.drained && !u.ejected && u.hub !== 'unhealthy');
  };
  const ticker = setInterval(tick, TICK_MS);
  ticker.unref();

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    handleRequest(route, req, res).catch((error: Error) => {
      log('error', `router ${name}: internal error: ${error.stack ?? error.message}`, { router: name });
      if (!res.headersSent) {
        res.writeHead(500, { [SERVED_BY_HEADER]: 'router', 'content-type': 'application/json' });
        res.end('{"error":"internal router error"}');
      } else res.destroy();
    });
  };

  const handleRequest = async (r: Route, req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const { plan, policy, fallback } = r;
    const p = plan.policy;
    const arrived = performance.now();
    policy.hedges.onRequest();
    const method = req.method ?? 'GET';
    const idempotent = p.idempotent || SAFE_METHODS.has(method);
    const headers = forwardHeaders(req);

    // The body: buffered when it may be replayed, else streamed to the one attempt.
    let body: Buffer | Readable | null = null;
    let replayable = true;
    if (hasBody(req)) {
      if (idempotent) {
        const read = await readCapped(req, p.bodyCapBytes);
        if (read === undefined) return; // the client went away
        if (read.rest === undefined) {
          body = read.buffer;
          headers['content-length'] = String(read.buffer.length);
        } else {
          body = read.rest;
          replayable = false;
        }
      } else {
        body = req;
        replayable = false;
      }
    }

    interface Attempt {
      upstream: UpstreamRuntime;
      signal: EventEmitter;
      at: number;
      startedAt: number;
      hedge: boolean;
      ended: boolean;
      /** Won: its body is being written to the client. */
      streaming: boolean;
    }
    const attempts: Attempt[] = [];
    let tried = 0;
    let done = false;
    let clientGone = false;
    const t0 = performance.now();
    const deadlineAt = t0 + p.deadlineMs;

    const bitOf = (u: UpstreamRuntime) => 1 << policy.upstreams.indexOf(u);
    const inFlight = () => attempts.some((a) => !a.ended);

    const observeAttempt = (
      a: Attempt,
      durationMs: number,
      outcome: 'pass' | 'fail',
      httpStatus?: number,
      error?: { code: ProbeErrorCode; message: string },
    ) => {
      if (observe === undefined) return;
      observe({
        router: name,
        target: a.upstream.plan.name,
        role: a.upstream.plan.role,
        startedAt: a.startedAt,
        durationMs,
        outcome,
        ...(httpStatus !== undefined && { httpStatus }),
        ...(error !== undefined && { error }),
        hedge: a.hedge,
      });
    };

    const endAttempt = (a: Attempt) => {
      if (a.ended) return false;
      a.ended = true;
      a.upstream.inFlight--;
      return true;
    };

    /** Cuts an attempt the router no longer wants: a latency lower bound, not a failure. */
    const cancel = (a: Attempt) => {
      if (!endAttempt(a)) return;
      const elapsed = performance.now() - a.at;
      policy.onCancelled(a.upstream, now(), elapsed);
      metrics.attempt(name, a.upstream.plan.name, 'cancelled', elapsed / 1000);
      a.signal.emit('abort');
    };

    const finish = () => {
      done = true;
      clearTimeout(deadlineTimer);
      if (hedgeTimer !== undefined) clearTimeout(hedgeTimer);
      r.refusedHedges.delete(onFailover);
    };

    const next = (): UpstreamRuntime | undefined => policy.pick(now(), tried, random());

    const start = (u: UpstreamRuntime, hedge: boolean) => {
      tried |= bitOf(u);
      u.inFlight++;
      const a: Attempt = {
        upstream: u,
        // An EventEmitter as undici's abort signal: an AbortController costs a DOMException per abort
        // and more per request (measured: a few % of the router's CPU).
        signal: new EventEmitter(),
        at: performance.now(),
        startedAt: now(),
        hedge,
        ended: false,
        streaming: false,
      };
      attempts.push(a);
      const pool = r.pools.get(u.plan.url) as Pool;
      // undici's stream(): the winner's body is written straight into the client's response, with
      // backpressure, and no Readable in between (about twice the throughput of request() + pipeline).
      pool
        .stream(
          {
            path: req.url ?? '/',
            method: method as 'GET',
            headers,
            body,
            signal: a.signal,
            opaque: a,
          },
          onHeaders,
        )
        .then(
          () => onComplete(a),
          (error: Error) => onError(a, error),
        );
    };

    /** After an upstream failure: the next attempt, if this request may be replayed and time is left. */
    const retry = (kind: AttemptOutcome): boolean => {
      const retryable = (idempotent && replayable) || (kind === 'refused' && body === null);
      if (!retryable || performance.now() >= deadlineAt) return false;
      const u = next();
      if (u === undefined) return false;
      start(u, false);
      return true;
    };

    /** An upstream's response headers: the writable its body goes to (the client's, or a sink). */
    const onHeaders = ({
      statusCode: status,
      headers: upstreamHeaders,
      opaque,
    }: {
      statusCode: number;
      headers: Record<string, string | string[] | undefined>;
      opaque: unknown;
    }): Writable => {
      const a = opaque as Attempt;
      if (a.ended || done) {
        if (endAttempt(a)) metrics.attempt(name, a.upstream.plan.name, 'cancelled', 0);
        return sink();
      }
      const latency = performance.now() - a.at;
      if (status >= 500) {
        policy.onFailure(a.upstream, now(), latency, `HTTP ${status}`);
        metrics.attempt(name, a.upstream.plan.name, 'server_error', latency / 1000);
        observeAttempt(a, latency, 'fail', status);
        // Another upstream, or one still working, or the fallback may do better than this 5xx.
        if (retry('server_error') || attempts.some((x) => x !== a && !x.ended) || fallback !== undefined) {
          endAttempt(a);
          if (!inFlight()) giveUp('unavailable');
          return sink();
        }
      } else {
        policy.onSuccess(a.upstream, now(), latency);
        metrics.attempt(
          name,
          a.upstream.plan.name,
          status >= 400 ? 'client_error' : 'success',
          latency / 1000,
        );
        observeAttempt(a, latency, 'pass', status);
      }
      // This attempt wins: the others are cut, and its answer goes to the client as it comes.
      finish();
      for (const other of attempts) if (other !== a) cancel(other);
      const servedBy: ServedBy = a.upstream.plan.role;
      metrics.request(name, servedBy, status, (performance.now() - arrived) / 1000);
      res.writeHead(status, responseHeaders(upstreamHeaders, servedBy));
      a.streaming = true;
      return res;
    };

    const onComplete = (a: Attempt) => {
      if (a.streaming) endAttempt(a);
    };

    const onError = (a: Attempt, error: Error) => {
      if (a.streaming) {
        endAttempt(a);
        // The upstream died mid-body (not the client leaving): an upstream failure too. The client's
        // response was cut by undici: a truncated answer must not look complete.
        if (!clientGone) {
          policy.onFailure(a.upstream, now(), performance.now() - a.at, `body: ${error.message}`);
          metrics.attempt(name, a.upstream.plan.name, 'reset', (performance.now() - a.at) / 1000);
        }
        return;
      }
      if (a.ended) return; // cancelled by the router, or a 5xx it dropped: already counted
      endAttempt(a);
      const latency = performance.now() - a.at;
      const [kind, code] = classify(error);
      policy.onFailure(a.upstream, now(), latency, `${code}: ${error.message}`);
      metrics.attempt(name, a.upstream.plan.name, kind, latency / 1000);
      observeAttempt(a, latency, 'fail', undefined, { code, message: error.message });
      if (done) return;
      if (retry(kind)) return;
      if (!inFlight()) giveUp('unavailable');
    };

    const giveUp = (reason: 'deadline' | 'unavailable') => {
      if (done) return;
      finish();
      for (const a of attempts) cancel(a);
      if (reason === 'deadline') metrics.deadlineMiss(name);
      if (fallback !== undefined) {
        serveFallback(reason);
        return;
      }
      const status = reason === 'deadline' ? 504 : 502;
      metrics.request(name, 'router', status, (performance.now() - arrived) / 1000);
      const message =
        reason === 'deadline'
          ? `no upstream answered within the deadline (${p.deadlineMs} ms)`
          : 'no upstream could answer';
      res.writeHead(status, { [SERVED_BY_HEADER]: 'router', 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: message }));
    };

    const serveFallback = (reason: 'deadline' | 'unavailable') => {
      metrics.fallback(name, reason);
      const request: FallbackRequest = {
        method,
        url: req.url ?? '/',
        headers: req.headers,
        body: body instanceof Buffer ? body : undefined,
        reason,
      };
      (fallback as Fallback)(request).then(
        (answer) => {
          if (clientGone) return;
          metrics.request(name, 'fallback', answer.status, (performance.now() - arrived) / 1000);
          res.writeHead(answer.status, {
            ...answer.headers,
            'content-length': String(answer.body.length),
            [SERVED_BY_HEADER]: 'fallback',
          });
          res.end(answer.body);
        },
        (error: Error) => {
          log('error', `router ${name}: the fallback failed: ${error.message}`, { router: name });
          if (clientGone) return;
          metrics.request(name, 'router', 502, (performance.now() - arrived) / 1000);
          res.writeHead(502, { [SERVED_BY_HEADER]: 'router', 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: 'no upstream could answer, and the fallback failed' }));
        },
      );
    };

    const onDeadline = () => {
      if (done) return;
      // Attempts that ran past failoverAt were slow by this route's own measure: upstream failures
      // (timeouts). Younger ones (a late hedge) had no fair chance: cancelled.
      const at = performance.now();
      for (const a of attempts) {
        if (a.ended) continue;
        const elapsed = at - a.at;
        if (elapsed < p.failoverAtMs) continue;
        endAttempt(a);
        policy.onFailure(a.upstream, now(), elapsed, 'TIMEOUT');
        metrics.attempt(name, a.upstream.plan.name, 'timeout', elapsed / 1000);
        observeAttempt(a, elapsed, 'fail', undefined, {
          code: 'TIMEOUT',
          message: `no response headers within the deadline (${p.deadlineMs} ms)`,
        });
        a.signal.emit('abort');
      }
      giveUp('deadline');
    };

    /**
     * Every attempt still running waits on an upstream the router has failed over from: a copy is then
     * a failover of this request, not a speculation, and the hedge budget does not bound it (the
     * requests in flight at a failover bound it).
     */
    const waitsOnFailedOver = () => {
      const at = now();
      return attempts.every((a) => a.ended || policy.failedOver(a.upstream, at));
    };

    const hedge = (u: UpstreamRuntime) => {
      metrics.hedge(name, u.plan.name);
      start(u, true);
    };

    const onHedge = () => {
      hedgeTimer = undefined;
      if (done || !inFlight()) return;
      const u = next();
      if (u === undefined) return;
      if (waitsOnFailedOver() || policy.hedges.take()) hedge(u);
      else r.refusedHedges.add(onFailover);
    };

    /** The primary was demoted while this request, refused a hedge, waited on it. */
    const onFailover = () => {
      r.refusedHedges.delete(onFailover);
      if (done || !inFlight() || !waitsOnFailedOver()) return;
      const u = next();
      if (u !== undefined) hedge(u);
    };

    const deadlineTimer = setTimeout(onDeadline, p.deadlineMs);
    let hedgeTimer: NodeJS.Timeout | undefined;
    res.on('close', () => {
      if (res.writableFinished) return;
      clientGone = true;
      if (!done) {
        finish();
        for (const a of attempts) cancel(a);
      }
    });

    const first = next();
    if (first === undefined) {
      giveUp('unavailable');
      return;
    }
    start(first, false);
    if (p.hedgeAfterMs !== undefined && idempotent && replayable && policy.upstreams.length > 1) {
      hedgeTimer = setTimeout(onHedge, p.hedgeAfterMs);
    }
  };

  const bind = (plan: RouterPlan): Promise<Server> =>
    new Promise((resolve, reject) => {
      const s = createServer({ keepAliveTimeout: 5000 }, handle);
      s.on('clientError', (_error, socket) => {
        if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
        else socket.destroy();
      });
      s.once('error', reject);
      s.listen(plan.port, plan.host, () => {
        s.off('error', reject);
        resolve(s);
      });
    });
  const urlOf = (s: Server) => {
    const address = s.address() as AddressInfo;
    return `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  };
  /** Stops accepting; requests in flight get `graceMs` to finish, then their connections are cut. */
  const closeServer = (s: Server, graceMs: number) =>
    new Promise<void>((resolve) => {
      const force = setTimeout(() => s.closeAllConnections(), graceMs);
      force.unref();
      s.close(() => {
        clearTimeout(force);
        resolve();
      });
      s.closeIdleConnections();
      // A keep-alive connection that finishes its request later is closed then, not kept idle.
      s.on(
        'request',
        (_req, res: ServerResponse) => res.shouldKeepAlive && res.setHeader('connection', 'close'),
      );
    });

  return {
    name,
    get url() {
      return url;
    },
    get plan() {
      return route.plan;
    },
    async listen() {
      server = await bind(route.plan);
      url = urlOf(server);
      log('info', `router ${name} listening on ${url}`, {
        router: name,
        url,
        upstreams: route.plan.upstreams.map((u) => `${u.role} ${u.name} ${u.url}`),
      });
      return url;
    },
    async update(plan) {
      const previous = route;
      const next = await buildRoute(plan, previous);
      const moved = plan.host !== previous.plan.host || plan.port !== previous.plan.port;
      if (moved && server !== undefined) {
        const fresh = await bind(plan);
        const old = server;
        server = fresh;
        url = urlOf(fresh);
        void closeServer(old, CLOSE_GRACE_MS);
      }
      route = next;
      // Pools no longer used close once their requests in flight are done.
      for (const [origin, pool] of previous.pools) if (!next.pools.has(origin)) void pool.close();
      log('info', `router ${name} reloaded`, { router: name, url });
    },
    setUpstreamState(target, state) {
      return route.policy.setHubState(target, state, now());
    },
    setDrained(target, drained) {
      return route.policy.setDrained(target, drained, now());
    },
    status() {
      return { name, url, ...route.policy.status(now()) };
    },
    async close(graceMs = CLOSE_GRACE_MS) {
      clearInterval(ticker);
      if (server !== undefined) await closeServer(server, graceMs);
      await Promise.all([...route.pools.values()].map((pool) => pool.destroy()));
    },
  };
}

/** Where the body of a response the router does not forward goes (a 5xx it retries, a late hedge). */
function sink(): Writable {
  return new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  });
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return length !== '0';
  return req.headers['transfer-encoding'] !== undefined;
}

/** The client's headers minus hop-by-hop ones (and those the Connection header names). */
function forwardHeaders(req: IncomingMessage): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const named = req.headers.connection;
  const extra =
    named === undefined || named === 'keep-alive' || named === 'close'
      ? undefined
      : new Set(named.toLowerCase().split(/\s*,\s*/));
  for (const key in req.headers) {
    if (HOP_BY_HOP.has(key) || extra?.has(key)) continue;
    const value = req.headers[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

/** The upstream's headers minus hop-by-hop ones, plus who served. */
function responseHeaders(
  headers: Record<string, string | string[] | undefined>,
  servedBy: ServedBy,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const key in headers) {
    if (HOP_BY_HOP.has(key)) continue;
    const value = headers[key];
    if (value !== undefined) out[key] = value;
  }
  out[SERVED_BY_HEADER] = servedBy;
  return out;
}

/**
 * Reads a body up to `cap` bytes. Within the cap: `{buffer}`. Over it: `{rest}`, the bytes read so
 * far followed by the rest of the stream (sent on, not replayable). `undefined` if the client left.
 */
function readCapped(
  req: IncomingMessage,
  cap: number,
): Promise<{ buffer: Buffer; rest?: undefined } | { buffer?: undefined; rest: Readable } | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      chunks.push(chunk);
      if (size > cap) {
        cleanup();
        req.pause();
        resolve({ rest: Readable.from(concatStreams(chunks, req), { objectMode: false }) });
      }
    };
    const onEnd = () => {
      cleanup();
      resolve({ buffer: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size) });
    };
    const onClose = () => {
      cleanup();
      resolve(undefined);
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onClose);
      req.off('close', onClose);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onClose);
    req.on('close', onClose);
  });
}

async function* concatStreams(head: Buffer[], rest: IncomingMessage): AsyncIterable<Buffer> {
  yield* head;
  for await (const chunk of rest) yield chunk as Buffer;
}

/** An undici or socket error as an attempt outcome and a probe error code. */
function classify(error: Error): [AttemptOutcome, ProbeErrorCode] {
  const code =
    (error as NodeJS.ErrnoException).code ?? (error.cause as NodeJS.ErrnoException | undefined)?.code ?? '';
  switch (code) {
    case 'ECONNREFUSED':
      return ['refused', 'CONNECTION_REFUSED'];
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return ['reset', 'CONNECTION_RESET'];
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'ETIMEDOUT':
      return ['timeout', 'TIMEOUT'];
    default:
      return ['error', 'NETWORK'];
  }
}
