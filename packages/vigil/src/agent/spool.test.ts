import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSpool, type SpooledResult } from './spool.js';

const result = (id: string): SpooledResult => ({
  id,
  checkId: 'a/liveness',
  target: 'a',
  check: 'liveness',
  region: 'eu',
  startedAt: 1,
  durationMs: 1,
  phases: { dnsMs: 0, connectMs: 0, tlsMs: 0, processingMs: 1, transferMs: 0 },
  outcome: 'pass',
  failures: [],
});

describe('the agent spool', () => {
  it('keeps results in order across a reopen, drops the oldest beyond its bound and counts them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-spool-'));
    try {
      const path = join(dir, 'spool.db');
      let spool = openSpool(path, { maxResults: 3 });
      spool.append(['r1', 'r2', 'r3', 'r4', 'r5'].map(result));
      expect(spool.depth()).toBe(3);
      expect(spool.dropped()).toBe(2);
      spool.close();
      spool = openSpool(path, { maxResults: 3 });
      const items = spool.peek(10);
      expect(items.map((i) => i.result.id)).toEqual(['r3', 'r4', 'r5']);
      expect(spool.dropped()).toBe(2);
      spool.ack(items.slice(0, 2).map((i) => i.seq));
      spool.discard(items.slice(2).map((i) => i.seq));
      expect(spool.depth()).toBe(0);
      expect(spool.dropped()).toBe(3);
      spool.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
