/**
 * `vigil agent`: probes from one region and reports to the hub. It fetches the checks of its region
 * (and shard) from the hub, runs them through the same scheduler → prober → assertions path as the hub,
 * keeps fast confirmation (it runs the evaluator locally only to decide its re-probes: the hub stays
 * the judge of state), and pushes results in gzip batches. Every result goes through the durable
 * spool (`spool.ts`) first, so nothing is lost while the hub is unreachable; each carries an id the hub
 * ingests it once by. The plan is polled with `If-None-Match`: a config change reaches the agent on
 * its next poll, without a restart.
 */
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { Shard } from '../config/regions.js';
import { defaultThresholds, evaluate, initialState } from '../evaluate/index.js';
import { runProbe } from '../probe/run-probe.js';
import { createScheduler, type Scheduler } from '../scheduler/index.js';
import type { CheckPlan, EvalState, HttpClient, ProbeResult } from '../types.js';
import { createHttpClient } from '../wire/http.js';
import { clockOffset } from './clock.js';
import { openSpool, type Spool } from './spool.js';

/** Options of {@link createAgent}. */
export interface AgentOptions {
  /** The hub's base URL, e.g. `https://vigil.example.com`. */
  hubUrl: string;
  region: string;
  /** The region's bearer token (`agents.regions.<region>` on the hub). */
  token: string;
  shard?: Shard;
  /** The spool's file (`:memory:` in tests that do not restart). */
  spoolPath: string;
  /** Most results the spool holds; the oldest are dropped (and counted) beyond. Default 100,000. */
  maxSpoolResults?: number;
  /** How often results are pushed, ms. Default 1000. */
  pushIntervalMs?: number;
  /** How often the plan is polled, ms. Default 10,000. */
  pollIntervalMs?: number;
  /** Most results per batch. Default 500. */
  batchSize?: number;
  /** Timeout of one request to the hub, ms. Default 10,000. */
  requestTimeoutMs?: number;
  log?: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
  client?: HttpClient;
}

/** What an agent reports of itself (and `vigil agent` logs). */
export interface AgentStats {
  checks: number;
  /** Results probed since the agent started (each spooled, then pushed). */
  probed: number;
  spoolDepth: number;
  dropped: number;
  pushed: number;
  replayed: number;
  /** Whether the last push or poll reached the hub. */
  hubReachable: boolean;
  /**
   * The hub's clock minus this agent's, ms, from the last acknowledged batch (NTP's offset, RFC 5905:
   * `clock.ts`); sent to the hub with the next batch. Null until a batch was acknowledged.
   */
  clockOffsetMs: number | null;
}

/** A running agent. */
export interface Agent {
  /** Fetches the plan (retrying until the hub answers) and starts probing and pushing. */
  start(): Promise<void>;
  /** Pushes what the spool holds now (tests; `stop` does it too). Resolves false if the hub was not reached. */
  flush(): Promise<boolean>;
  /** Polls the plan now. */
  poll(): Promise<void>;
  stats(): AgentStats;
  /** Stops probing, pushes what it can once, closes the spool. */
  stop(): Promise<void>;
}

/**
 * Builds an agent (not started).
 *
 * @example
 * const agent = createAgent({ hubUrl: 'https://vigil.example.com', region: 'eu-west', token, spoolPath: '.vigil/agent-spool.db' });
 * await agent.start();
 */
export function createAgent(options: AgentOptions): Agent {
  const base = options.hubUrl.replace(/\/+$/, '');
  const log = options.log ?? (() => {});
  const client = options.client ?? createHttpClient({ keepAlive: true });
  const ownsClient = options.client === undefined;
  const spool: Spool = openSpool(options.spoolPath, { maxResults: options.maxSpoolResults });
  const pushIntervalMs = options.pushIntervalMs ?? 1000;
  const pollIntervalMs = options.pollIntervalMs ?? 10_000;
  let batchSize = options.batchSize ?? 500;
  const timeoutMs = options.requestTimeoutMs ?? 10_000;
  const deps = { client, region: options.region };
  const auth = { authorization: `Bearer ${options.token}` };
  const query = `region=${encodeURIComponent(options.region)}${
    options.shard === undefined ? '' : `&shard=${options.shard.index + 1}/${options.shard.count}`
  }`;

  let plans = new Map<string, CheckPlan>();
  /** Local evaluator states, only to decide fast re-probes. */
  const states = new Map<string, EvalState>();
  let etag: string | undefined;
  let scheduler: Scheduler | undefined;
  let pushTimer: NodeJS.Timeout | undefined;
  let pollTimer: NodeJS.Timeout | undefined;
  let pushing: Promise<boolean> | undefined;
  let stopped = false;
  const stats = {
    probed: 0,
    pushed: 0,
    replayed: 0,
    hubReachable: false,
    clockOffsetMs: null as number | null,
  };

  /** Fetches the plan; returns it when it changed, undefined when not (304) or on failure. */
  async function fetchPlan(): Promise<CheckPlan[] | undefined> {
    try {
      const response = await fetch(`${base}/api/v1/agent/checks?${query}`, {
        headers: { ...auth, ...(etag !== undefined && { 'if-none-match': etag }) },
        signal: AbortSignal.timeout(timeoutMs),
      });
      stats.hubReachable = true;
      if (response.status === 304) return undefined;
      if (!response.ok) {
        log('error', `hub refused the plan request: ${response.status} ${await response.text()}`);
        return undefined;
      }
      const body = (await response.json()) as { checks: CheckPlan[] };
      etag = response.headers.get('etag') ?? undefined;
      return body.checks;
    } catch (err) {
      stats.hubReachable = false;
      log('warn', `hub unreachable for the plan: ${(err as Error).message}`);
      return undefined;
    }
  }

  function setPlan(next: CheckPlan[]): void {
    plans = new Map(next.map((p) => [p.id, p]));
    for (const id of states.keys()) if (!plans.has(id)) states.delete(id);
  }

  /** The scheduler's result: spooled (durably) first; true while a failure is being confirmed. */
  function onResult(plan: CheckPlan, result: ProbeResult): boolean {
    spool.append([{ ...result, id: randomUUID() }]);
    stats.probed++;
    const current = plans.get(plan.id) ?? plan;
    const before = states.get(plan.id) ?? initialState(plan.id, options.region, result.startedAt);
    const { state } = evaluate(before, result, defaultThresholds(current));
    states.set(plan.id, state);
    return state.state === 'pending';
  }

  /** Pushes the spool's oldest batches until it is empty or the hub is not reached. */
  async function pushAll(): Promise<boolean> {
    for (;;) {
      const items = spool.peek(batchSize);
      if (items.length === 0) return true;
      const outcome = await pushBatch(items);
      if (outcome === 'unreachable') return false;
      if (outcome === 'retry') continue;
    }
  }

  async function pushBatch(
    items: { seq: number; result: ProbeResult & { id: string } }[],
  ): Promise<'ok' | 'retry' | 'unreachable'> {
    const batch = {
      batchId: randomUUID(),
      sentAt: Date.now(),
      // What stays in the spool once this batch is taken.
      spoolDepth: spool.depth() - items.length,
      dropped: spool.dropped(),
      ...(stats.clockOffsetMs !== null && { clockOffsetMs: stats.clockOffsetMs }),
      results: items.map((i) => i.result),
    };
    const seqs = items.map((i) => i.seq);
    let response: Response;
    try {
      response = await fetch(`${base}/api/v1/agent/results?${query}`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json', 'content-encoding': 'gzip' },
        body: gzipSync(JSON.stringify(batch)),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      if (stats.hubReachable)
        log(
          'warn',
          `hub unreachable: results stay in the spool (${spool.depth()}): ${(err as Error).message}`,
        );
      stats.hubReachable = false;
      return 'unreachable';
    }
    const answeredSeen = Date.now();
    stats.hubReachable = true;
    const text = await response.text();
    if (response.ok) {
      const answer = JSON.parse(text) as {
        accepted: number;
        replayed: number;
        receivedAt?: number;
        answeredAt?: number;
      };
      if (typeof answer.receivedAt === 'number' && typeof answer.answeredAt === 'number')
        stats.clockOffsetMs = clockOffset({
          t0: batch.sentAt,
          t1: answer.receivedAt,
          t2: answer.answeredAt,
          t3: answeredSeen,
        }).offsetMs;
      spool.ack(seqs);
      stats.pushed += answer.accepted;
      stats.replayed += answer.replayed;
      return 'ok';
    }
    if (response.status === 413 && items.length > 1) {
      batchSize = Math.max(1, Math.floor(items.length / 2));
      log('warn', `hub refused a batch of ${items.length} as too large; batches of ${batchSize} from now on`);
      return 'retry';
    }
    if (response.status === 422 || response.status === 400 || response.status === 413) {
      // Results the hub will never take (a check no longer assigned, after a config change): dropped, counted.
      spool.discard(seqs);
      log(
        'error',
        `hub refused a batch of ${items.length} for good (${response.status}: ${text}); dropped, counted`,
      );
      void poll();
      return 'retry';
    }
    log('error', `hub refused the batch (${response.status}: ${text}); kept in the spool, retried`);
    return 'unreachable';
  }

  function flush(): Promise<boolean> {
    if (pushing === undefined) {
      pushing = pushAll().finally(() => {
        pushing = undefined;
      });
    }
    return pushing;
  }

  async function poll(): Promise<void> {
    const next = await fetchPlan();
    if (next === undefined || stopped) return;
    setPlan(next);
    scheduler?.update(next);
    log('info', `plan updated: ${next.length} checks`, { checks: next.length });
  }

  return {
    async start() {
      let plan: CheckPlan[] | undefined;
      for (let attempt = 0; plan === undefined && !stopped; attempt++) {
        plan = await fetchPlan();
        if (plan === undefined) await new Promise((r) => setTimeout(r, Math.min(5000, 250 * 2 ** attempt)));
      }
      if (plan === undefined) return;
      setPlan(plan);
      scheduler = createScheduler({
        plans: plan,
        probe: (p) => runProbe(p, deps),
        onResult,
        onError: (p, err) => log('error', `${p.id}: ${(err as Error).message}`),
      });
      scheduler.start();
      pushTimer = setInterval(() => void flush(), pushIntervalMs);
      pollTimer = setInterval(() => void poll(), pollIntervalMs);
      log('info', `agent running: region ${options.region}, ${plan.length} checks`, {
        checks: plan.length,
        spoolDepth: spool.depth(),
      });
    },
    flush,
    poll,
    stats: () => ({ checks: plans.size, spoolDepth: spool.depth(), dropped: spool.dropped(), ...stats }),
    async stop() {
      stopped = true;
      clearInterval(pushTimer);
      clearInterval(pollTimer);
      await scheduler?.stop();
      await pushing;
      await flush();
      spool.close();
      if (ownsClient) await client.close();
    },
  };
}
