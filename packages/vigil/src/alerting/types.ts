/**
 * Alerting shapes: alerts made from check states, the groups that notifiers deliver, and the
 * notifier contract. Alertmanager's vocabulary throughout (labels, annotations, fingerprint,
 * group key, startsAt/endsAt), so teams that already run it find nothing new.
 */
import type { z } from 'zod';

/** `info`: one failed probe (dashboard and log only); `warning`: degraded or flapping; `critical`: unhealthy (pages). */
export type Severity = 'info' | 'warning' | 'critical';

/** One alert. Times are ms since the Unix epoch. */
export interface Alert {
  /** Stable identity: a hash of the sorted labels (Alertmanager's fingerprint); the dedup key. */
  fingerprint: string;
  status: 'firing' | 'resolved';
  /** `alertname`, `severity`, `target`, `check`, `region`, `model`, plus the target's own labels. */
  labels: Record<string, string>;
  /** `summary`, `description` (the transition's reason, naming the root cause), optional `runbook_url`. */
  annotations: Record<string, string>;
  startsAt: number;
  /** Set when resolved. */
  endsAt: number | null;
  /** Link back to Vigil (the check's page), when the hub knows its external URL. */
  generatorURL?: string;
}

/** What one notification carries: the alerts of one group, as Alertmanager's webhook payload does. */
export interface NotificationGroup {
  /** Stable key of the group (route + group_by label values). */
  groupKey: string;
  /** The notifier (receiver) name from the config. */
  receiver: string;
  /** `firing` if any alert in the group fires, else `resolved`. */
  status: 'firing' | 'resolved';
  alerts: Alert[];
  /** Labels whose values the group_by set (e.g. `{target: "credit-scorer"}`). */
  groupLabels: Record<string, string>;
  /** Labels every alert of the group shares. */
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  /** Idempotency key of this delivery (outbox row), for receivers that dedupe. */
  idempotencyKey: string;
}

/** The outcome of one delivery attempt; never thrown. */
export type DeliveryResult =
  | { ok: true; detail?: string }
  | {
      ok: false;
      /** false for permanent refusals (e.g. PagerDuty 400): the outbox gives up instead of retrying. */
      retryable: boolean;
      /** Human-readable, with secrets removed (no webhook URLs, keys or passwords). */
      error: string;
      /** From a Retry-After header, when the receiver sent one. */
      retryAfterMs?: number;
    };

/** What a notifier gets besides the group. */
export interface NotifierContext {
  /** Aborted when the attempt's timeout passes or the hub stops. */
  signal: AbortSignal;
  now(): number;
}

/** One delivery channel. Adding one is one file in notifiers/ plus one line in the registry. */
export interface Notifier {
  readonly type: string;
  /** The configured name (the route's receiver). */
  readonly name: string;
  send(group: NotificationGroup, context: NotifierContext): Promise<DeliveryResult>;
}

/**
 * A notifier plugin, exported by `notifiers/<type>.ts` and registered in one line of the registry
 * (`notifiers/index.ts`), whose key is the `type` name.
 */
export interface NotifierPlugin<Schema extends z.ZodObject = z.ZodObject> {
  /**
   * Zod schema of the config block: a strict object whose `type` is the registry key as a literal.
   * Everything zod can check lives here (URLs, durations, addresses), so that the config loader reports
   * a bad block together with every other problem, and the JSON Schema shows it to editors.
   */
  readonly configSchema: Schema;
  /**
   * Makes a notifier from a block that `configSchema` validated (deeply frozen when it comes from a
   * loaded config). Must not do I/O: the hub builds notifiers at start and on each alerting reload.
   */
  create(name: string, config: z.output<Schema>): Notifier;
}
