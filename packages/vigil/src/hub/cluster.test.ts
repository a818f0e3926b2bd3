/**
 * Shard assignment (rendezvous over live hubs) and one member's fencing, over an in-memory
 * ClusterLeases with a fake monotonic clock. The PostgreSQL side and real processes:
 * `cli/run-cluster.test.ts`.
 */
import { describe, expect, it } from 'vitest';
import { CLUSTER_SHARDS, type ClusterLeases, type ClusterTickInput } from '../store/types.js';
import { createClusterMember, rendezvousShards, shardOf } from './cluster.js';

describe('rendezvousShards', () => {
  it('gives every shard to exactly one live hub, roughly evenly', () => {
    const live = ['hub-a', 'hub-b', 'hub-c'];
    const sets = live.map((h) => rendezvousShards(h, live));
    const all = sets.flat().sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: CLUSTER_SHARDS }, (_, i) => i));
    for (const s of sets) expect(s.length).toBeGreaterThan(CLUSTER_SHARDS / 3 / 1.5);
  });

  it('moves only the joining hub’s shards when a hub joins', () => {
    const before = ['hub-a', 'hub-b'];
    const after = [...before, 'hub-c'];
    const gained = new Set(rendezvousShards('hub-c', after));
    for (const h of before) {
      const lost = rendezvousShards(h, before).filter((s) => !rendezvousShards(h, after).includes(s));
      for (const s of lost) expect(gained.has(s)).toBe(true);
      // Nothing moves between the hubs that stayed.
      for (const s of rendezvousShards(h, after)) expect(rendezvousShards(h, before)).toContain(s);
    }
  });

  it('maps a check id to a stable shard', () => {
    expect(shardOf('credit/liveness')).toBe(shardOf('credit/liveness'));
    expect(shardOf('credit/liveness')).toBeLessThan(CLUSTER_SHARDS);
  });
});

/** One hub alone: every tick grants all wanted shards, unless `failing`. */
function fakeLeases() {
  const state = { failing: false, ticks: 0 };
  const leases: ClusterLeases = {
    async tick(input: ClusterTickInput) {
      state.ticks++;
      if (state.failing) throw new Error('connection timeout');
      const live = [input.hubId];
      return { live, held: [...input.want(live)], nextExpiryMs: null };
    },
    leave: async () => {},
    owners: async () => new Map(),
    close: async () => {},
  };
  return { leases, state };
}

describe('createClusterMember', () => {
  it('acts on its checks until lease − safety margin after its last successful tick, then stops', async () => {
    let now = 0;
    const { leases, state } = fakeLeases();
    const member = createClusterMember({
      leases,
      hubId: 'hub-a',
      url: 'http://127.0.0.1:1',
      leaseMs: 10_000,
      heartbeatMs: 2_000,
      safetyMarginMs: 2_000,
      monotonic: () => now,
    });
    await member.start();
    expect(member.owns('credit/liveness')).toBe(true);
    state.failing = true;
    now = 7_999;
    expect(member.owns('credit/liveness')).toBe(true);
    now = 8_000;
    // The database's lease lapses at 10 000 at the earliest: the hub stopped 2 000 ms before.
    expect(member.owns('credit/liveness')).toBe(false);
    expect(member.view().shards).toBe(0);
    await member.stop();
  });

  it('refuses a heartbeat plus margin that does not fit in the lease', () => {
    const { leases } = fakeLeases();
    expect(() =>
      createClusterMember({
        leases,
        hubId: 'a',
        url: '',
        leaseMs: 3_000,
        heartbeatMs: 2_000,
        safetyMarginMs: 1_000,
      }),
    ).toThrow(/must be less than the lease/);
  });
});

describe('vigil run --cluster with SQLite', () => {
  it('is refused with a usage error naming the store', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { runHub } = await import('../daemon/hub.js');
    const dir = mkdtempSync(join(tmpdir(), 'vigil-cluster-sqlite-'));
    const config = join(dir, 'vigil.yaml');
    writeFileSync(config, 'targets: [{ name: a, url: "http://127.0.0.1:9", protocol: http }]\n');
    const err = await runHub({
      config,
      port: 0,
      host: '127.0.0.1',
      store: join(dir, 'vigil.db'),
      logLevel: 'error',
      logFormat: 'json',
      cluster: true,
    }).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('VIGIL_ERR_USAGE');
    expect((err as Error).message).toMatch(
      /--cluster needs a store several hubs can share: pass --store postgres:\/\//,
    );
  });

  it('refuses agents: (an agent reports to one hub, not to the one holding each check)', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { runHub } = await import('../daemon/hub.js');
    const dir = mkdtempSync(join(tmpdir(), 'vigil-cluster-agents-'));
    const config = join(dir, 'vigil.yaml');
    writeFileSync(
      config,
      `agents: { regions: { eu: { token: "0123456789abcdef0123" } } }
targets: [{ name: a, url: "http://127.0.0.1:9", protocol: http, regions: [local, eu] }]
`,
    );
    const err = await runHub({
      config,
      port: 0,
      host: '127.0.0.1',
      store: 'postgres://127.0.0.1:9/none',
      logLevel: 'error',
      logFormat: 'json',
      cluster: true,
    }).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('VIGIL_ERR_USAGE');
    expect((err as Error).message).toMatch(/--cluster does not take agents yet/);
  });
});
