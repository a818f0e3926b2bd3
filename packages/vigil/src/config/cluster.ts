/**
 * The `cluster:` section of `vigil.yaml` (a key of `config/schema.ts`): the lease knobs of several
 * hubs on one PostgreSQL. It only tunes: hubs join a cluster with `vigil run --cluster`. Absent keys
 * take the defaults of `hub/cluster.ts` (lease 10s, heartbeat 2s, safetyMargin 2s; their sources are
 * written there). Every hub of a cluster should run with the same values.
 *
 * ```yaml
 * cluster: { leaseDuration: 10s, heartbeat: 2s, safetyMargin: 2s }
 * ```
 */
import { z } from 'zod';
import { durationProblem, parseDuration } from '../diagnostics/duration.js';
import { duration as positiveDuration } from './routers.js';

/** A positive duration string (the routers' rule and messages), with its description for the JSON Schema. */
const duration = (example: string, description: string) => positiveDuration(example).meta({ description });

/** The `cluster:` section. */
export const clusterSchema = z
  .strictObject({
    leaseDuration: duration(
      '10s',
      'How long a hub holds its shards of checks without renewing; a crashed hub’s checks move to the others after about this. Default 10s.',
    ).optional(),
    heartbeat: duration(
      '2s',
      'How often a hub renews its leases and looks for hubs joining or leaving. Default 2s.',
    ).optional(),
    safetyMargin: duration(
      '2s',
      'A hub stops acting on its checks this long before its lease could lapse (fencing). Default 2s.',
    ).optional(),
  })
  .superRefine((c, ctx) => {
    const ms = (text: string | undefined, fallback: number) =>
      text === undefined || durationProblem(text) !== undefined ? fallback : parseDuration(text);
    const lease = ms(c.leaseDuration, 10_000);
    const heartbeat = ms(c.heartbeat, 2_000);
    const margin = ms(c.safetyMargin, 2_000);
    if (heartbeat + margin >= lease) {
      ctx.addIssue({
        code: 'custom',
        path: ['leaseDuration'],
        message: `must be longer than heartbeat + safetyMargin (${heartbeat + margin} ms), got ${lease} ms: a hub must be able to renew before it fences itself`,
      });
    }
  })
  .meta({ description: 'Lease knobs of several hubs on one PostgreSQL (`vigil run --cluster`).' });

/** The validated `cluster:` section (durations as strings). */
export type ClusterSpec = z.output<typeof clusterSchema>;
