/**
 * Test helpers for the protocol adapters: hand-built targets and check plans (the config loader's
 * defaults, resolved), and a one-call way to run an adapter's check over a real HTTP client.
 */

import type {
  AdapterAnswer,
  CheckKind,
  CheckPlan,
  HttpClient,
  ProtocolAdapter,
  TargetConfig,
} from '../../types.js';
import { createHttpClient } from '../../wire/http.js';
import { createAdapterContext } from '../context.js';
import type { ProtocolName } from '../index.js';

/** A target with the loader's defaults (1 MiB body cap, 5 redirects, no headers or labels). */
export function makeTarget(
  protocol: ProtocolName,
  url: string,
  overrides: Partial<TargetConfig> = {},
): TargetConfig {
  return {
    name: `${protocol}-target`,
    url,
    protocol,
    labels: {},
    headers: {},
    maxBodyBytes: 1024 * 1024,
    maxRedirects: 5,
    ...overrides,
  };
}

/** A check plan with Kubernetes-like defaults (10 s interval, 2 s timeout, thresholds 3 / 1). */
export function makePlan(
  kind: CheckKind,
  target: TargetConfig,
  overrides: Partial<CheckPlan> = {},
): CheckPlan {
  return {
    id: `${target.name}/${kind}`,
    target,
    kind,
    intervalMs: 10_000,
    timeoutMs: 2_000,
    failureThreshold: 3,
    successThreshold: 1,
    fastIntervalMs: 1_000,
    initialDelayMs: 0,
    expect: {},
    ...overrides,
  };
}

/** The adapter methods a test can run: the check kinds but canary, and metadata. */
export type AdapterCall = Exclude<CheckKind, 'canary' | 'traffic' | 'metrics'> | 'metadata';

/** Runs one adapter method for a plan, with a fresh probe deadline from `plan.timeoutMs`. */
export function runAdapter(
  client: HttpClient,
  adapter: ProtocolAdapter,
  call: AdapterCall,
  plan: CheckPlan,
): Promise<AdapterAnswer> {
  const ctx = createAdapterContext(client, plan.target, {
    timeoutMs: plan.timeoutMs,
    startedAt: performance.now(),
  });
  return adapter[call](ctx, plan);
}

/** A keep-alive HTTP client for a test file; close it in `afterAll`. */
export function makeClient(): HttpClient {
  return createHttpClient({ keepAlive: true });
}
