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
 * or outside it while the request waits on a primary that is on its way back, at a return step); when
 * the primary is demoted, the replayable requests still waiting on it are hedged at once (outside the
 * budget: at most the requests in flight, which the secondaries would now take anyway), so a failover
 * leaves none of them to the latency that caused it; at the deadline every attempt is cut and the
 * fallback answers (`x-vigil-served-by: fallback`), or the router does (504, or 502 when no upstream
 * could take the request; `x-vigil-served-by: router`).
 *
 * Cost per request: one object for the request and one per attempt, handed to undici's
 * `Dispatcher.dispatch` as its handler (no promise, abort signal, async resource or stream per
 * attempt); the client's raw headers are filtered into undici's flat list; one timer for the deadline
 * (and one for the hedge on a route that hedges).
 *
 * Isolation: each router has its own pools, every wait has the deadline as its bound, and response
 * bodies stream with backpressure, so an upstream that hangs or trickles holds only its own requests'
 * sockets and memory, never another router's or another request's.
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { type Dispatcher, Pool } from 'undici';
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
  /** Requests not yet answered (response headers not sent): those a failover may hedge at once. */
  readonly waiting: Set<Exchange>;
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
    if (decision.kind === 'demote') {
      metrics.failover(name, decision.upstream);
      // Requests already waiting on the primary would still meet its latency: hedged at once, once
      // the policy's own call has returned.
      setImmediate(() => {
        for (const ex of route.waiting) ex.rescue();
      });
    }
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
    const policy = createRoutePolicy(plan.upstreams, plan.policy, {
      hasFallback: fallback !== undefined,
      decide,
      ...(previous && { previous: previous.policy }),
    });
    metrics.init(
      name,
      plan.upstreams.map((u) => u.name),
    );
    return { plan, policy, pools, fallback, waiting: new Set() };
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

  const ctx: ExchangeContext = { name, metrics, log, observe, now, random };
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const r = route;
    const ex = new Exchange(ctx, r, req, res);
    ex.begin().catch((error: Error) => {
      log('error', `router ${name}: internal error: ${error.stack ?? error.message}`, { router: name });
      ex.internalError();
    });
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

/** What every request of a router shares: its name, where it writes, its clock and dice. */
interface ExchangeContext {
  readonly name: string;
  readonly metrics: RouterMetrics;
  readonly log: RouterDeps['log'];
  readonly observe: RouterDeps['onObservation'];
  readonly now: () => number;
  readonly random: () => number;
}

/** The reason an attempt the router no longer wants is aborted with (never shown to anyone). */
const CANCELLED = new Error('cancelled by the router');

/**
 * One attempt at an upstream, and undici's handler of it (`Dispatcher.dispatch`, its documented
 * controller API): no promise, no abort signal, no async resource and no stream in between, so an
 * attempt costs one small object. The winner's body is written straight into the client's response,
 * with backpressure (the upstream's socket is paused while the client's is full).
 */
class Attempt implements Dispatcher.DispatchHandler {
  /** performance.now() at its start. */
  readonly at = performance.now();
  /** ms since epoch, for the hub. */
  readonly startedAt: number;
  ended = false;
  /** Won: its body is being written to the client. */
  streaming = false;
  private controller: Dispatcher.DispatchController | undefined;

  constructor(
    private readonly ex: Exchange,
    readonly upstream: UpstreamRuntime,
    readonly hedge: boolean,
  ) {
    this.startedAt = ex.ctx.now();
  }

  /** Ends it from the router's side: the request is aborted (now, or as soon as undici starts it). */
  abort(): void {
    this.controller?.abort(CANCELLED);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.ended) controller.abort(CANCELLED);
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    status: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (status < 200) return; // 1xx: informational, the answer is still to come
    this.ex.onHeaders(this, status, headers);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.streaming || this.ended) return; // a body nobody wants: read and dropped
    const res = this.ex.res;
    if (!res.write(chunk)) {
      controller.pause();
      res.once('drain', () => controller.resume());
    }
  }

  onResponseEnd(): void {
    if (!this.streaming || this.ended) return;
    this.ex.endAttempt(this);
    this.ex.res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.ex.onError(this, error);
  }
}

/** One client's request through a router: its attempts, hedge, deadline and fallback. */
class Exchange {
  readonly arrived = performance.now();
  private readonly policy: RoutePolicy;
  private readonly p: RouterPlan['policy'];
  private readonly method: string;
  private readonly idempotent: boolean;
  private headers: string[] = [];
  private body: Buffer | Readable | null = null;
  private replayable = true;
  private readonly attempts: Attempt[] = [];
  private tried = 0;
  private done = false;
  private clientGone = false;
  private deadlineAt = 0;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private hedgeTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly ctx: ExchangeContext,
    private readonly r: Route,
    private readonly req: IncomingMessage,
    readonly res: ServerResponse,
  ) {
    this.policy = r.policy;
    this.p = r.plan.policy;
    this.method = req.method ?? 'GET';
    this.idempotent = this.p.idempotent || SAFE_METHODS.has(this.method);
  }

  async begin(): Promise<void> {
    const { req, p, policy } = this;
    policy.hedges.onRequest();
    const { headers, length, chunked } = forwardHeaders(req.rawHeaders);
    this.headers = headers;
    // The body: buffered when it may be replayed, else streamed to the one attempt.
    if ((length !== undefined && length !== '0') || chunked) {
      if (this.idempotent) {
        const read = await readCapped(req, p.bodyCapBytes);
        if (read === undefined) return; // the client went away
        if (read.rest === undefined) {
          this.body = read.buffer;
          headers.push('content-length', String(read.buffer.length));
        } else {
          this.body = read.rest;
          this.replayable = false;
          if (length !== undefined) headers.push('content-length', length);
        }
      } else {
        this.body = req;
        this.replayable = false;
        if (length !== undefined) headers.push('content-length', length);
      }
    }
    this.deadlineAt = performance.now() + p.deadlineMs;
    this.deadlineTimer = setTimeout(onDeadline, p.deadlineMs, this);
    this.res.on('close', () => this.onClose());
    this.r.waiting.add(this);
    const first = this.next();
    if (first === undefined) {
      this.giveUp('unavailable');
      return;
    }
    this.start(first, false);
    if (p.hedgeAfterMs !== undefined && this.hedgeable())
      this.hedgeTimer = setTimeout(onHedge, p.hedgeAfterMs, this);
  }

  /** An error of the router's own (a bug): a 500 if nothing was sent yet, else the connection is cut. */
  internalError(): void {
    this.finish();
    for (const a of this.attempts) this.cancel(a);
    const { res } = this;
    if (!res.headersSent) {
      res.writeHead(500, { [SERVED_BY_HEADER]: 'router', 'content-type': 'application/json' });
      res.end('{"error":"internal router error"}');
    } else res.destroy();
  }

  private hedgeable(): boolean {
    return this.idempotent && this.replayable && this.policy.upstreams.length > 1;
  }

  private next(): UpstreamRuntime | undefined {
    return this.policy.pick(this.ctx.now(), this.tried, this.ctx.random());
  }

  private inFlight(): boolean {
    for (const a of this.attempts) if (!a.ended) return true;
    return false;
  }

  private start(u: UpstreamRuntime, hedge: boolean): void {
    this.tried |= 1 << this.policy.upstreams.indexOf(u);
    u.inFlight++;
    const a = new Attempt(this, u, hedge);
    this.attempts.push(a);
    (this.r.pools.get(u.plan.url) as Pool).dispatch(
      { path: this.req.url ?? '/', method: this.method as 'GET', headers: this.headers, body: this.body },
      a,
    );
  }

  endAttempt(a: Attempt): boolean {
    if (a.ended) return false;
    a.ended = true;
    a.upstream.inFlight--;
    return true;
  }

  private observeAttempt(
    a: Attempt,
    durationMs: number,
    outcome: 'pass' | 'fail',
    httpStatus?: number,
    error?: { code: ProbeErrorCode; message: string },
  ): void {
    const { observe, name } = this.ctx;
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
  }

  /** Cuts an attempt the router no longer wants: a latency lower bound, not a failure. */
  private cancel(a: Attempt): void {
    if (!this.endAttempt(a)) return;
    const elapsed = performance.now() - a.at;
    this.policy.onCancelled(a.upstream, this.ctx.now(), elapsed);
    this.ctx.metrics.attempt(this.ctx.name, a.upstream.plan.name, 'cancelled', elapsed / 1000);
    a.abort();
  }

  private finish(): void {
    this.done = true;
    this.r.waiting.delete(this);
    clearTimeout(this.deadlineTimer);
    if (this.hedgeTimer !== undefined) clearTimeout(this.hedgeTimer);
  }

  /** After an upstream failure: the next attempt, if this request may be replayed and time is left. */
  private retry(kind: AttemptOutcome): boolean {
    const retryable = (this.idempotent && this.replayable) || (kind === 'refused' && this.body === null);
    if (!retryable || performance.now() >= this.deadlineAt) return false;
    const u = this.next();
    if (u === undefined) return false;
    this.start(u, false);
    return true;
  }

  /** An upstream's response headers: this attempt wins (streams to the client), or is dropped. */
  onHeaders(
    a: Attempt,
    status: number,
    upstreamHeaders: Record<string, string | string[] | undefined>,
  ): void {
    const { policy, ctx } = this;
    if (a.ended || this.done) {
      if (this.endAttempt(a)) ctx.metrics.attempt(ctx.name, a.upstream.plan.name, 'cancelled', 0);
      return;
    }
    const latency = performance.now() - a.at;
    if (status >= 500) {
      policy.onFailure(a.upstream, ctx.now(), latency, `HTTP ${status}`);
      ctx.metrics.attempt(ctx.name, a.upstream.plan.name, 'server_error', latency / 1000);
      this.observeAttempt(a, latency, 'fail', status);
      // Another upstream, or one still working, or the fallback may do better than this 5xx.
      if (
        this.retry('server_error') ||
        this.attempts.some((x) => x !== a && !x.ended) ||
        this.r.fallback !== undefined
      ) {
        this.endAttempt(a);
        if (!this.inFlight()) this.giveUp('unavailable');
        return;
      }
    } else {
      policy.onSuccess(a.upstream, ctx.now(), latency);
      ctx.metrics.attempt(
        ctx.name,
        a.upstream.plan.name,
        status >= 400 ? 'client_error' : 'success',
        latency / 1000,
      );
      this.observeAttempt(a, latency, 'pass', status);
    }
    // This attempt wins: the others are cut, and its answer goes to the client as it comes.
    this.finish();
    for (const other of this.attempts) if (other !== a) this.cancel(other);
    const servedBy: ServedBy = a.upstream.plan.role;
    ctx.metrics.request(ctx.name, servedBy, status, (performance.now() - this.arrived) / 1000);
    this.res.writeHead(status, responseHeaders(upstreamHeaders, servedBy));
    a.streaming = true;
  }

  onError(a: Attempt, error: Error): void {
    const { policy, ctx } = this;
    if (a.streaming) {
      if (!this.endAttempt(a)) return; // the client left: the router cut it
      // The upstream died mid-body (not the client leaving): an upstream failure too. The client's
      // response is cut: a truncated answer must not look complete.
      const elapsed = performance.now() - a.at;
      policy.onFailure(a.upstream, ctx.now(), elapsed, `body: ${error.message}`);
      ctx.metrics.attempt(ctx.name, a.upstream.plan.name, 'reset', elapsed / 1000);
      this.res.destroy();
      return;
    }
    if (a.ended) return; // cancelled by the router, or a 5xx it dropped: already counted
    this.endAttempt(a);
    const latency = performance.now() - a.at;
    const [kind, code] = classify(error);
    policy.onFailure(a.upstream, ctx.now(), latency, `${code}: ${error.message}`);
    ctx.metrics.attempt(ctx.name, a.upstream.plan.name, kind, latency / 1000);
    this.observeAttempt(a, latency, 'fail', undefined, { code, message: error.message });
    if (this.done) return;
    if (this.retry(kind)) return;
    if (!this.inFlight()) this.giveUp('unavailable');
  }

  private onClose(): void {
    if (this.res.writableFinished) return;
    this.clientGone = true;
    if (!this.done) {
      this.finish();
      for (const a of this.attempts) this.cancel(a);
      return;
    }
    // The client left while the winner's body streamed: it is cut, and it is no upstream failure.
    for (const a of this.attempts)
      if (a.streaming && this.endAttempt(a)) {
        a.abort();
      }
  }

  private giveUp(reason: 'deadline' | 'unavailable'): void {
    if (this.done) return;
    this.finish();
    for (const a of this.attempts) this.cancel(a);
    const { ctx, res } = this;
    if (reason === 'deadline') ctx.metrics.deadlineMiss(ctx.name);
    if (this.r.fallback !== undefined) {
      this.serveFallback(this.r.fallback, reason);
      return;
    }
    const status = reason === 'deadline' ? 504 : 502;
    ctx.metrics.request(ctx.name, 'router', status, (performance.now() - this.arrived) / 1000);
    const message =
      reason === 'deadline'
        ? `no upstream answered within the deadline (${this.p.deadlineMs} ms)`
        : 'no upstream could answer';
    res.writeHead(status, { [SERVED_BY_HEADER]: 'router', 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: message }));
  }

  private serveFallback(fallback: Fallback, reason: 'deadline' | 'unavailable'): void {
    const { ctx, res, req } = this;
    ctx.metrics.fallback(ctx.name, reason);
    const request: FallbackRequest = {
      method: this.method,
      url: req.url ?? '/',
      headers: req.headers,
      body: this.body instanceof Buffer ? this.body : undefined,
      reason,
    };
    fallback(request).then(
      (answer) => {
        if (this.clientGone) return;
        ctx.metrics.request(ctx.name, 'fallback', answer.status, (performance.now() - this.arrived) / 1000);
        res.writeHead(answer.status, {
          ...answer.headers,
          'content-length': String(answer.body.length),
          [SERVED_BY_HEADER]: 'fallback',
        });
        res.end(answer.body);
      },
      (error: Error) => {
        ctx.log('error', `router ${ctx.name}: the fallback failed: ${error.message}`, { router: ctx.name });
        if (this.clientGone) return;
        ctx.metrics.request(ctx.name, 'router', 502, (performance.now() - this.arrived) / 1000);
        res.writeHead(502, { [SERVED_BY_HEADER]: 'router', 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'no upstream could answer, and the fallback failed' }));
      },
    );
  }

  /** At the deadline. */
  expire(): void {
    if (this.done) return;
    const { ctx, p, policy } = this;
    // Attempts that ran past failoverAt were slow by this route's own measure: upstream failures
    // (timeouts). Younger ones (a late hedge) had no fair chance: cancelled.
    const at = performance.now();
    for (const a of this.attempts) {
      if (a.ended) continue;
      const elapsed = at - a.at;
      if (elapsed < p.failoverAtMs) continue;
      this.endAttempt(a);
      policy.onFailure(a.upstream, ctx.now(), elapsed, 'TIMEOUT');
      ctx.metrics.attempt(ctx.name, a.upstream.plan.name, 'timeout', elapsed / 1000);
      this.observeAttempt(a, elapsed, 'fail', undefined, {
        code: 'TIMEOUT',
        message: `no response headers within the deadline (${p.deadlineMs} ms)`,
      });
      a.abort();
    }
    this.giveUp('deadline');
  }

  /**
   * After `hedgeAfter` with no answer: a copy to the next upstream, within the hedge budget, or
   * outside it when the one waited on is the primary on its way back (a return step): the secondaries
   * took all its traffic a moment ago, so such a copy adds no load they have not carried.
   */
  hedgeNow(): void {
    this.hedgeTimer = undefined;
    if (this.done || !this.inFlight()) return;
    const u = this.next();
    if (u === undefined) return;
    const returning =
      this.attempts.some((a) => !a.ended && a.upstream === this.policy.primary) &&
      this.policy.primaryShare > 0 &&
      this.policy.primaryShare < 1;
    if (!returning && !this.policy.hedges.take()) return;
    this.ctx.metrics.hedge(this.ctx.name, u.plan.name);
    this.start(u, true);
  }

  /**
   * The primary was demoted while this request waited on it: a copy goes to the next upstream at
   * once (outside the hedge budget: the secondaries take all new traffic now, and these are at most
   * the requests in flight), so it does not meet the latency that demoted the primary.
   */
  rescue(): void {
    if (this.done || !this.hedgeable()) return;
    const primary = this.policy.primary;
    let waitingOnPrimary = false;
    for (const a of this.attempts) {
      if (a.ended) continue;
      if (a.upstream !== primary) return; // already on another upstream
      waitingOnPrimary = true;
    }
    if (!waitingOnPrimary || performance.now() >= this.deadlineAt) return;
    const u = this.next();
    if (u === undefined || u === primary) return;
    this.ctx.metrics.hedge(this.ctx.name, u.plan.name);
    this.start(u, true);
  }
}

function onDeadline(ex: Exchange): void {
  ex.expire();
}

function onHedge(ex: Exchange): void {
  ex.hedgeNow();
}

/**
 * The client's raw headers minus hop-by-hop ones (and those the Connection header names) and its
 * content-length (set again by the caller once the body is known), as undici's flat list.
 */
function forwardHeaders(raw: readonly string[]): {
  headers: string[];
  length: string | undefined;
  chunked: boolean;
} {
  const headers: string[] = [];
  let length: string | undefined;
  let chunked = false;
  let extra: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const key = raw[i] as string;
    if (key.length === 10 && key.toLowerCase() === 'connection') {
      const named = (raw[i + 1] as string).toLowerCase();
      if (named !== 'keep-alive' && named !== 'close') {
        extra ??= new Set();
        for (const n of named.split(/\s*,\s*/)) extra.add(n);
      }
    }
  }
  for (let i = 0; i < raw.length; i += 2) {
    const key = (raw[i] as string).toLowerCase();
    const value = raw[i + 1] as string;
    if (key === 'content-length') {
      length = value;
      continue;
    }
    if (key === 'transfer-encoding') chunked = true;
    if (HOP_BY_HOP.has(key) || extra?.has(key)) continue;
    headers.push(key, value);
  }
  return { headers, length, chunked };
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
