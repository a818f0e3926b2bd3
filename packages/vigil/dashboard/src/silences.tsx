/**
 * Silences: the list (active, scheduled, expired), a form that creates one with the API token, and
 * an expire button. The token is kept in this tab's sessionStorage only, never sent anywhere but the
 * hub's mutating routes.
 */
import { useEffect, useState } from 'preact/hooks';
import type { Silence, SilenceMatcher } from '../../src/store/types.js';
import { useNow } from './app.js';
import { formatTime, isoTime } from './format.js';
import { getJson, send } from './http.js';

/** Where the API token is kept: this tab's sessionStorage (shared by the silences and maintenance pages). */
export const TOKEN_KEY = 'vigil-api-token';

/**
 * Parses matcher lines: `label=value` (equality) or `label=~regex`, one per line or comma-separated.
 * @throws Error naming the line it could not read.
 */
export function parseMatchers(text: string): SilenceMatcher[] {
  // A comma separates matchers only when a `label=` follows, so a regex may hold commas (`a{1,3}`).
  const parts = text
    .split(/\n|,(?=\s*[A-Za-z_][A-Za-z0-9_]*\s*=)/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (parts.length === 0) throw new Error('at least one matcher, like target=credit-scorer');
  return parts.map((part) => {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*(=~|=)\s*(.*)$/.exec(part);
    if (!m) throw new Error(`"${part}" is not a matcher: write label=value or label=~regex`);
    const [, label = '', op, value = ''] = m;
    return op === '=~' ? { label, value, isRegex: true } : { label, value };
  });
}

function stateOf(s: Silence, now: number): 'active' | 'scheduled' | 'expired' {
  if (s.endsAt <= now) return 'expired';
  return s.startsAt > now ? 'scheduled' : 'active';
}

export function SilencesPage() {
  const now = useNow(5000);
  const [silences, setSilences] = useState<Silence[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [notice, setNotice] = useState<string | undefined>();
  const [token, setToken] = useState(() => sessionStorage.getItem(TOKEN_KEY) ?? '');
  const [matchers, setMatchers] = useState('');
  const [hours, setHours] = useState('2');
  const [createdBy, setCreatedBy] = useState('');
  const [comment, setComment] = useState('');

  const load = async () => {
    try {
      setSilences((await getJson<{ silences: Silence[] }>('api/v1/silences')).silences);
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
      const duration = Number(hours);
      if (!(duration > 0)) throw new Error('duration: a number of hours above 0');
      const created = await send<Silence>('POST', 'api/v1/silences', token, {
        matchers: parsed,
        endsAt: new Date(Date.now() + duration * 3600_000).toISOString(),
        createdBy,
        comment,
      });
      setNotice(`Silence ${created.id} created, until ${formatTime(created.endsAt)}.`);
      setMatchers('');
      setComment('');
      await load();
    } catch (err) {
      setError(`Could not create the silence: ${(err as Error).message}`);
    }
  };

  const expire = async (s: Silence) => {
    setError(undefined);
    setNotice(undefined);
    try {
      await send('DELETE', `api/v1/silences/${encodeURIComponent(s.id)}`, token);
      setNotice(`Silence ${s.id} expired.`);
      await load();
    } catch (err) {
      setError(`Could not expire ${s.id}: ${(err as Error).message}`);
    }
  };

  return (
    <>
      <h1 tabIndex={-1}>Silences</h1>
      <div aria-live="polite">
        {notice && <p class="notice">{notice}</p>}
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
      </div>
      <section aria-labelledby="new-h">
        <h2 id="new-h">New silence</h2>
        <form class="silence-form" onSubmit={create}>
          <label>
            Matchers
            <textarea
              required
              rows={2}
              value={matchers}
              onInput={(e) => setMatchers(e.currentTarget.value)}
              placeholder="target=credit-scorer, check=~integrity|canary"
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
              required
              value={hours}
              onInput={(e) => setHours(e.currentTarget.value)}
            />
          </label>
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
          <button type="submit">Create silence</button>
        </form>
      </section>
      <section aria-labelledby="list-h">
        <h2 id="list-h">All silences</h2>
        {silences === undefined ? (
          <p>Loading…</p>
        ) : silences.length === 0 ? (
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
              {silences.map((s) => {
                // `now` ticks every 5 s; a silence created a moment ago is active, not scheduled.
                const state = stateOf(s, Math.max(now, Date.now()));
                return (
                  <tr key={s.id} data-silence={s.id}>
                    <td>{state}</td>
                    <td>
                      <code>
                        {s.matchers.map((m) => `${m.label}${m.isRegex ? '=~' : '='}${m.value}`).join(', ')}
                      </code>
                    </td>
                    <td>
                      <time dateTime={isoTime(s.startsAt)}>{formatTime(s.startsAt, now)}</time>
                    </td>
                    <td>
                      <time dateTime={isoTime(s.endsAt)}>{formatTime(s.endsAt, now)}</time>
                    </td>
                    <td>{s.createdBy}</td>
                    <td>{s.comment}</td>
                    <td>
                      {state !== 'expired' && !s.id.startsWith('config-') && (
                        <button
                          type="button"
                          onClick={() => void expire(s)}
                          aria-label={`Expire silence ${s.id}`}
                        >
                          Expire
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
