/**
 * Incidents: the alerts firing now, open and past incidents; and one incident's page with its
 * timeline of transitions and every notification sent about it with its delivery state.
 */
import { useEffect, useState } from 'preact/hooks';
import type { IncidentDelivery } from '../../src/api/routes/history.js';
import type { AlertStatus } from '../../src/hub/types.js';
import type { ActionRun } from '../../src/store/types.js';
import type { Incident, Transition } from '../../src/types.js';
import { checkHref, incidentHref, useLive, useNow } from './app.js';
import { formatAge, formatTime, isoTime, STATE_META } from './format.js';
import { getJson } from './http.js';
import type { Live } from './live.js';

/** While an incident page is open, its deliveries are re-read this often (they have no event), in ms. */
const POLL_MS = 5000;

/** Calls `load` now, on every transition, and every `pollMs` when given. */
function useReload(live: Live, load: () => Promise<void>, pollMs?: number): void {
  useLive(live);
  const transitions = live.transitions;
  useEffect(() => {
    void load();
  }, [transitions]);
  useEffect(() => {
    if (pollMs === undefined) return;
    const timer = setInterval(() => void load(), pollMs);
    return () => clearInterval(timer);
  }, [pollMs]);
}

export function IncidentsPage({ live }: { live: Live }) {
  const now = useNow(5000);
  const [incidents, setIncidents] = useState<Incident[] | undefined>();
  const [alerts, setAlerts] = useState<AlertStatus[]>([]);
  const [error, setError] = useState<string | undefined>();
  useReload(
    live,
    async () => {
      try {
        const [i, a] = await Promise.all([
          getJson<{ incidents: Incident[] }>('api/v1/incidents?limit=200'),
          getJson<{ alerts: AlertStatus[] }>('api/v1/alerts'),
        ]);
        setIncidents(i.incidents);
        setAlerts(a.alerts);
        setError(undefined);
      } catch (err) {
        setError((err as Error).message);
      }
    },
    POLL_MS,
  );
  const open = incidents?.filter((i) => i.closedAt === null) ?? [];
  const past = incidents?.filter((i) => i.closedAt !== null) ?? [];
  return (
    <>
      <h1 tabIndex={-1}>Incidents</h1>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <section aria-labelledby="alerts-h">
        <h2 id="alerts-h">Firing alerts ({alerts.length})</h2>
        {alerts.length === 0 ? (
          <p>No alert is firing.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Severity</th>
                <th scope="col">Alert</th>
                <th scope="col">Check</th>
                <th scope="col">Since</th>
                <th scope="col">Notified</th>
              </tr>
            </thead>
            <tbody>
              {alerts.map((a) => (
                <tr key={a.fingerprint} class={`severity-${a.labels.severity}`}>
                  <td>
                    <span class={`badge severity-${a.labels.severity}`}>{a.labels.severity}</span>
                  </td>
                  <td>
                    {a.labels.alertname}
                    <div class="muted">{a.annotations.description}</div>
                  </td>
                  <td>
                    <a href={checkHref(`${a.labels.target}/${a.labels.check}`)}>
                      {a.labels.target}/{a.labels.check}
                    </a>{' '}
                    ({a.labels.region})
                  </td>
                  <td>{formatAge(now - a.startsAt)}</td>
                  <td>{a.state === 'active' ? 'yes' : `no: ${a.mutedBy}`}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <IncidentList title="Open" incidents={open} now={now} loading={incidents === undefined} />
      <IncidentList title="Past" incidents={past} now={now} loading={incidents === undefined} />
    </>
  );
}

function IncidentList({
  title,
  incidents,
  now,
  loading,
}: {
  title: string;
  incidents: Incident[];
  now: number;
  loading: boolean;
}) {
  const id = `incidents-${title.toLowerCase()}`;
  return (
    <section aria-labelledby={id}>
      <h2 id={id}>
        {title} ({incidents.length})
      </h2>
      {loading ? (
        <p>Loading…</p>
      ) : incidents.length === 0 ? (
        <p>None.</p>
      ) : (
        <table class="incidents">
          <thead>
            <tr>
              <th scope="col">Check</th>
              <th scope="col">Region</th>
              <th scope="col">Opened</th>
              <th scope="col">Lasted</th>
              <th scope="col">Reason</th>
            </tr>
          </thead>
          <tbody>
            {incidents.map((i) => (
              <tr key={i.id} data-incident={i.id}>
                <th scope="row">
                  <a href={incidentHref(i.id)}>{i.checkId}</a>
                </th>
                <td>{i.region}</td>
                <td>
                  <time dateTime={isoTime(i.openedAt)}>{formatTime(i.openedAt, now)}</time>
                </td>
                <td>
                  {formatAge((i.closedAt ?? now) - i.openedAt)}
                  {i.closedAt === null && ' so far'}
                </td>
                <td>{i.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

interface IncidentAnswer {
  incident: Incident;
  transitions: Transition[];
  notifications: IncidentDelivery[];
  actions: ActionRun[];
}

const ACTION_RESULT: Record<ActionRun['status'], { icon: string; label: string; badge: string }> = {
  running: { icon: '◔', label: 'running', badge: 'pending' },
  succeeded: { icon: '✓', label: 'succeeded', badge: 'delivered' },
  failed: { icon: '✕', label: 'failed', badge: 'failed' },
  refused: { icon: '✕', label: 'refused', badge: 'failed' },
  skipped: { icon: '–', label: 'skipped', badge: 'pending' },
  'dry-run': { icon: '◌', label: 'dry run (not run)', badge: 'pending' },
  unknown: { icon: '?', label: 'outcome unknown', badge: 'failed' },
};

const DELIVERY: Record<IncidentDelivery['status'], { icon: string; label: string }> = {
  delivered: { icon: '✓', label: 'delivered' },
  pending: { icon: '◔', label: 'pending' },
  failed: { icon: '✕', label: 'failed (given up)' },
};

export function IncidentPage({ live, id }: { live: Live; id: string }) {
  const now = useNow(5000);
  const [answer, setAnswer] = useState<IncidentAnswer | undefined>();
  const [error, setError] = useState<string | undefined>();
  useReload(
    live,
    async () => {
      try {
        setAnswer(await getJson<IncidentAnswer>(`api/v1/incidents/${encodeURIComponent(id)}`));
        setError(undefined);
      } catch (err) {
        setError((err as Error).message);
      }
    },
    POLL_MS,
  );
  const incident = answer?.incident;
  return (
    <>
      <p class="crumbs">
        <a href="#/incidents">Incidents</a> / {id}
      </p>
      <h1 tabIndex={-1}>
        Incident {incident ? `on ${incident.checkId}` : ''}{' '}
        {incident && (
          <span class={`badge ${incident.closedAt === null ? 'state-unhealthy' : 'state-healthy'}`}>
            {incident.closedAt === null ? 'Open' : 'Closed'}
          </span>
        )}
      </h1>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {incident && answer && (
        <>
          <dl class="facts">
            <dt>Check</dt>
            <dd>
              <a href={checkHref(incident.checkId)}>{incident.checkId}</a> in {incident.region}
            </dd>
            <dt>Opened</dt>
            <dd>
              <time dateTime={isoTime(incident.openedAt)}>{formatTime(incident.openedAt, now)}</time>
            </dd>
            <dt>{incident.closedAt === null ? 'Open for' : 'Lasted'}</dt>
            <dd>{formatAge((incident.closedAt ?? now) - incident.openedAt)}</dd>
            <dt>Root cause</dt>
            <dd>{incident.reason}</dd>
          </dl>
          <section aria-labelledby="tl-h">
            <h2 id="tl-h">Timeline</h2>
            <ol class="transitions">
              {answer.transitions.map((t) => (
                <li key={`${t.at}-${t.to}`}>
                  <time dateTime={isoTime(t.at)}>{formatTime(t.at, now)}</time>{' '}
                  <span class={`badge state-${t.from}`}>{STATE_META[t.from].label}</span> →{' '}
                  <span class={`badge state-${t.to}`}>
                    <span aria-hidden="true">{STATE_META[t.to].icon}</span> {STATE_META[t.to].label}
                  </span>{' '}
                  {t.reason}
                </li>
              ))}
            </ol>
          </section>
          <section aria-labelledby="ac-h">
            <h2 id="ac-h">Recovery actions</h2>
            {(answer.actions ?? []).length === 0 ? (
              <p>No recovery action ran for this incident.</p>
            ) : (
              <table>
                <thead>
                  <tr>
                    <th scope="col">When</th>
                    <th scope="col">Action</th>
                    <th scope="col">What</th>
                    <th scope="col">Why</th>
                    <th scope="col">Result</th>
                    <th scope="col">Output</th>
                  </tr>
                </thead>
                <tbody>
                  {answer.actions.map((a) => (
                    <tr key={a.id} data-action-status={a.status}>
                      <td>
                        <time dateTime={isoTime(a.claimedAt)}>{formatTime(a.claimedAt, now)}</time>
                      </td>
                      <td>
                        {a.action} ({a.kind}), step {a.step + 1}
                      </td>
                      <td>
                        <code>{a.what}</code>
                      </td>
                      <td>
                        {a.event}: {a.reason}
                      </td>
                      <td>
                        <span class={`badge delivery-${ACTION_RESULT[a.status].badge}`}>
                          <span aria-hidden="true">{ACTION_RESULT[a.status].icon}</span>{' '}
                          {ACTION_RESULT[a.status].label}
                          {a.skipReason ? ` (${a.skipReason})` : ''}
                        </span>
                      </td>
                      <td>
                        {/* biome-ignore lint/a11y/noNoninteractiveTabindex: it scrolls; a keyboard must reach it (axe scrollable-region-focusable) */}
                        <pre class="action-output" tabIndex={0}>
                          {a.output ?? '—'}
                        </pre>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
          <section aria-labelledby="nt-h">
            <h2 id="nt-h">Notifications</h2>
            {answer.notifications.length === 0 ? (
              <p>
                No notification was sent about this incident (no route matched, or it is muted or waiting for
                group_wait).
              </p>
            ) : (
              <table>
                <thead>
                  <tr>
                    <th scope="col">Receiver</th>
                    <th scope="col">Said</th>
                    <th scope="col">Enqueued</th>
                    <th scope="col">Delivery</th>
                    <th scope="col">Attempts</th>
                    <th scope="col">Last error</th>
                  </tr>
                </thead>
                <tbody>
                  {answer.notifications.map((n) => (
                    <tr key={n.id} data-delivery={n.status}>
                      <td>{n.notifier}</td>
                      <td>{n.alertStatus}</td>
                      <td>{formatTime(n.createdAt, now)}</td>
                      <td>
                        <span class={`badge delivery-${n.status}`}>
                          <span aria-hidden="true">{DELIVERY[n.status].icon}</span> {DELIVERY[n.status].label}
                        </span>
                        {n.deliveredAt !== null && <> at {formatTime(n.deliveredAt, now)}</>}
                      </td>
                      <td>{n.attempts}</td>
                      <td>{n.lastError ?? '—'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
        </>
      )}
    </>
  );
}
