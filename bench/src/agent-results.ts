/** What the agent benches push: synthetic results shaped as an agent's (`bench/src/agent.ts`, `agent-ingest-pg.ts`). */
import type { ProbeResult } from 'vigil-ml';

/** A result as an agent pushes it: a ProbeResult with the id the hub ingests it once by. */
export type PushedResult = ProbeResult & { id: string };

/**
 * Result number `n` of `region`: id `<region>-<n>`, a passing liveness probe of target `t<n mod
 * checks>` that started 5 ms before `now` (ms since epoch) and took 1.5 ms.
 */
export function syntheticResult(region: string, n: number, checks: number, now: number): PushedResult {
  return {
    id: `${region}-${n}`,
    checkId: `t${n % checks}/liveness`,
    target: `t${n % checks}`,
    check: 'liveness',
    region,
    startedAt: now - 5,
    durationMs: 1.5,
    phases: { dnsMs: 0, connectMs: 0.2, tlsMs: 0, processingMs: 1.1, transferMs: 0.2 },
    outcome: 'pass',
    httpStatus: 200,
    failures: [],
  };
}
