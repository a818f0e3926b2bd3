/**
 * The check plan the scale benchmarks (`scale-hub.ts`, `dashboard-load.ts`) run against the endpoints
 * of `scale-endpoints.ts`: protocol `http`, a GET of `/<target>/<kind>`, 2 s timeout, Kubernetes'
 * thresholds (3 failures, 1 success), 1 s fast confirmation; integrity extracts the endpoints'
 * `probability` (they answer 0.42).
 */
import type { CheckKind, CheckPlan, ExpectConfig } from 'vigil-ml';

export interface ScalePlanOptions {
  name: string;
  port: number;
  kind: CheckKind;
  intervalMs: number;
  /** Default: the target's name. */
  model?: string;
  labels?: Record<string, string>;
  /** Default: integrity expects `probability` in [0, 1] (passes); other kinds expect nothing. */
  expect?: ExpectConfig;
}

export function scaleCheckPlan(o: ScalePlanOptions): CheckPlan {
  const integrity = o.kind === 'integrity';
  return {
    id: `${o.name}/${o.kind}`,
    target: {
      name: o.name,
      url: `http://127.0.0.1:${o.port}`,
      protocol: 'http',
      model: o.model ?? o.name,
      labels: o.labels ?? {},
      headers: {},
      maxBodyBytes: 1024 * 1024,
      maxRedirects: 5,
    },
    kind: o.kind,
    intervalMs: o.intervalMs,
    timeoutMs: 2000,
    failureThreshold: 3,
    successThreshold: 1,
    fastIntervalMs: 1000,
    initialDelayMs: 0,
    request: { method: 'GET', path: `/${o.name}/${o.kind}` },
    ...(integrity ? { extract: { probability: '$.body.outputs[0].data[0]' } } : {}),
    expect: o.expect ?? (integrity ? { outputs: { probability: { range: [0, 1] } } } : {}),
  };
}
