/**
 * How the shared statements render per dialect. What they do is the contract suite's to judge, on the
 * real databases; these pin the dialect seam itself.
 */
import { describe, expect, it } from 'vitest';
import { claimNotifications, POSTGRES, SQLITE, STATES_UPSERT, selectTransitions } from './queries.js';

const squash = (text: string): string => text.replace(/\s+/g, ' ').trim();

describe('dialects', () => {
  it('render a batch as a one-row INSERT (SQLite) or one INSERT from unnest of typed arrays (PostgreSQL)', () => {
    const sqlite = SQLITE.batch(STATES_UPSERT);
    const postgres = POSTGRES.batch(STATES_UPSERT);
    expect(sqlite.width).toBe(6);
    expect(postgres.width).toBe(6);
    expect(squash(sqlite.text)).toMatch(
      /^INSERT INTO eval_states \(check_id, region, state, since, data, written_at\) VALUES \(\?, \?, \?, \?, \?, \?\) ON CONFLICT \(check_id, region\) DO UPDATE/,
    );
    expect(squash(postgres.text)).toMatch(
      /^INSERT INTO eval_states \(check_id, region, state, since, data, written_at\) SELECT \* FROM unnest\(\$1::text\[\], \$2::text\[\], \$3::text\[\], \$4::bigint\[\], \$5::json\[\], \$6::bigint\[\]\) ON CONFLICT \(check_id, region\) DO UPDATE/,
    );
  });

  it('number the placeholders per dialect, with the values beside them, and lock claimed rows only in PostgreSQL', () => {
    const options = { now: 1000.7, leaseMs: 30_000, limit: 10 };
    const sqlite = claimNotifications(SQLITE, options);
    const postgres = claimNotifications(POSTGRES, options);
    expect(sqlite.values).toEqual([31_000, 1000, 1000, 10]);
    expect(postgres.values).toEqual(sqlite.values);
    expect(SQLITE.text(sqlite).match(/\?/g)).toHaveLength(4);
    expect(SQLITE.text(sqlite)).not.toContain('FOR UPDATE');
    expect(POSTGRES.text(postgres).match(/\$\d/g)).toEqual(['$1', '$2', '$3', '$4']);
    expect(squash(POSTGRES.text(postgres))).toContain('LIMIT $4 FOR UPDATE SKIP LOCKED)');
  });

  it('leave out the filters and the limit not asked for', () => {
    expect(squash(SQLITE.text(selectTransitions({})))).toBe(
      'SELECT * FROM transitions ORDER BY at DESC, id DESC',
    );
    const filtered = selectTransitions({ region: 'eu-west', since: 5.9, limit: 3 });
    expect(squash(POSTGRES.text(filtered))).toBe(
      'SELECT * FROM transitions WHERE region = $1 AND at >= $2 ORDER BY at DESC, id DESC LIMIT $3',
    );
    expect(filtered.values).toEqual(['eu-west', 5, 3]);
  });
});
