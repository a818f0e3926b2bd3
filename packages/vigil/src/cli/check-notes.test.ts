import { describe, expect, it } from 'vitest';
import type { ProbeResult } from '../types.js';
import { formatTable } from './check.js';

const result = (overrides: Partial<ProbeResult>): ProbeResult => ({
  checkId: 'scorer/readiness',
  target: 'scorer',
  check: 'readiness',
  region: 'local',
  startedAt: 0,
  durationMs: 3,
  phases: { dnsMs: 0, connectMs: 0, tlsMs: 0, processingMs: 0, transferMs: 0 },
  outcome: 'pass',
  failures: [],
  ...overrides,
});

describe('vigil check table: notes (issue 15: the server-wide state is reported, not failed)', () => {
  it("a passing result's notes fill its REASON cell", () => {
    const table = formatTable([
      result({ notes: ['server-wide readiness: GET /v2/health/ready answered 400 with an empty body'] }),
    ]);
    expect(table).toContain('pass');
    expect(table).toContain(
      'note: server-wide readiness: GET /v2/health/ready answered 400 with an empty body',
    );
  });

  it('a failure is shown before any note', () => {
    const table = formatTable([
      result({
        outcome: 'fail',
        notes: ['n'],
        failures: [{ assertion: 'protocol', expected: 'x', actual: 'y', message: 'model "m" not ready' }],
      }),
    ]);
    expect(table).toContain('model "m" not ready');
    expect(table).not.toContain('note: n');
  });
});
