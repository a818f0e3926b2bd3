/**
 * One-off maintenance windows: the list (open, scheduled, over), a form that starts one now — for a
 * number of hours, or until someone ends it — with the API token, and an end button. Recurring windows
 * are config (`alerting.maintenance`) and not listed here.
 */
import { useEffect, useState } from 'preact/hooks';
import type { OneOffWindow } from '../../src/store/types.js';
import { useNow } from './app.js';
import { formatTime, isoTime } from './format.js';
import { getJson, send } from './http.js';
import { parseMatchers, TOKEN_KEY } from './silences.js';

function stateOf(w: OneOffWindow, now: number): 'open' | 'scheduled' | 'over' {
  if (w.endsAt !== null && w.endsAt <= now) return 'over';
  return w.startsAt > now ? 'scheduled' : 'open';
}

export function MaintenancePage() {
  const now = useNow(5000);
  const [windows, setWindows] = useState<OneOffWindow[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [notice, setNotice] = useState<string | undefined>();
  const [token, setToken] = useState(() => sessionStorage.getItem(TOKEN_KEY) ?? '');
  const [matchers, setMatchers] = useState('');
  const [hours, setHours] = useState('');
  const [createdBy, setCreatedBy] = useState('');
  const [comment, setComment] = useState('');

  const load = async () => {
    try {
      setWindows((await getJson<{ windows: OneOffWindow[] }>('api/v1/maintenance-windows')).windows);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  useEffect(() => {
    void load();
  }, []);

  const remember = (value: string) => {
    setToken(value);
    sessionStorage.setItem(TOKEN_KEY, value);
  };

  const create = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    setNotice(undefined);
    try {
      const parsed = parseMatchers(matchers);
      const body: Record<string, unknown> = { matchers: parsed, createdBy, comment };
      if (hours.trim() !== '') {
        const duration = Number(hours);
        if (!(duration > 0))
          throw new Error('duration: a number of hours above 0, or empty for "until ended"');
        body.endsAt = new Date(Date.now() + duration * 3600_000).toISOString();
      }
      const created = await send<OneOffWindow>('POST', 'api/v1/maintenance-windows', token, body);
      setNotice(
        `Maintenance window ${created.id} started, ${created.endsAt === null ? 'until ended' : `until ${formatTime(created.endsAt)}`}.`,
      );
      setMatchers('');
      setComment('');
      await load();
    } catch (err) {
      setError(`Could not start the maintenance window: ${(err as Error).message}`);
    }
  };

  const end = async (w: OneOffWindow) => {
    setError(undefined);
    setNotice(undefined);
    try {
      await send('POST', `api/v1/maintenance-windows/${encodeURIComponent(w.id)}/end`, token, {
        endedBy: createdBy.trim() === '' ? 'dashboard' : createdBy,
      });
      await load();
      setNotice(`Maintenance window ${w.id} ended.`);
    } catch (err) {
      setError(`Could not end ${w.id}: ${(err as Error).message}`);
    }
  };

  return (
    <>
      <h1 tabIndex={-1}>Maintenance</h1>
      <div aria-live="polite">
        {notice && <p class="notice">{notice}</p>}
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
      </div>
      <section aria-labelledby="new-h">
        <h2 id="new-h">New maintenance window</h2>
        <p class="help">
          While a window is open, matching alerts are not notified and recovery actions do not run. Recurring
          windows are set in the config (<code>alerting.maintenance</code>).
        </p>
        <form class="silence-form" onSubmit={create}>
          <label>
            Matchers
            <textarea
              required
              rows={2}
              value={matchers}
              onInput={(e) => setMatchers(e.currentTarget.value)}
              placeholder="target=credit-scorer"
              aria-describedby="matchers-help"
            />
          </label>
          <p id="matchers-help" class="help">
            One per line or comma-separated: <code>label=value</code> or <code>label=~regex</code>. All must
            match.
          </p>
          <label>
            Duration (hours)
            <input
              type="number"
              min="0.1"
              step="0.1"
              value={hours}
              onInput={(e) => setHours(e.currentTarget.value)}
              aria-describedby="hours-help"
            />
          </label>
          <p id="hours-help" class="help">
            Empty: open until someone ends it.
          </p>
          <label>
            Created by
            <input
              required
              value={createdBy}
              onInput={(e) => setCreatedBy(e.currentTarget.value)}
              autoComplete="name"
            />
          </label>
          <label>
            Comment
            <input required value={comment} onInput={(e) => setComment(e.currentTarget.value)} />
          </label>
          <label>
            API token
            <input
              type="password"
              required
              value={token}
              onInput={(e) => remember(e.currentTarget.value)}
              autoComplete="off"
              aria-describedby="token-help"
            />
          </label>
          <p id="token-help" class="help">
            The hub's bearer token (<code>--token</code> or <code>VIGIL_API_TOKEN</code>); kept in this tab
            only.
          </p>
          <button type="submit">Start maintenance window</button>
        </form>
      </section>
      <section aria-labelledby="list-h">
        <h2 id="list-h">All one-off windows</h2>
        {windows === undefined ? (
          <p>Loading…</p>
        ) : windows.length === 0 ? (
          <p>None.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">State</th>
                <th scope="col">Matchers</th>
                <th scope="col">From</th>
                <th scope="col">Until</th>
                <th scope="col">By</th>
                <th scope="col">Comment</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {windows.map((w) => {
                // `now` ticks every 5 s; a window started a moment ago is open, not scheduled.
                const state = stateOf(w, Math.max(now, Date.now()));
                return (
                  <tr key={w.id} data-maintenance={w.id}>
                    <td>{state}</td>
                    <td>
                      <code>
                        {w.matchers.map((m) => `${m.label}${m.isRegex ? '=~' : '='}${m.value}`).join(', ')}
                      </code>
                    </td>
                    <td>
                      <time dateTime={isoTime(w.startsAt)}>{formatTime(w.startsAt, now)}</time>
                    </td>
                    <td>
                      {w.endsAt === null ? (
                        'until ended'
                      ) : (
                        <time dateTime={isoTime(w.endsAt)}>{formatTime(w.endsAt, now)}</time>
                      )}
                      {w.endedBy !== null && ` (ended by ${w.endedBy})`}
                    </td>
                    <td>{w.createdBy}</td>
                    <td>{w.comment}</td>
                    <td>
                      {state !== 'over' && (
                        <button
                          type="button"
                          onClick={() => void end(w)}
                          aria-label={`End maintenance window ${w.id}`}
                        >
                          End
                        </button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}
