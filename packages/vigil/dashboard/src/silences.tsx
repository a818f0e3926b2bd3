/**
 * Silences: the list (active, scheduled, expired), a form that creates one with the API token, and
 * an expire button (the form, token and messages shared with the maintenance page: `matcher-form.tsx`).
 */
import { useState } from 'preact/hooks';
import type { Silence } from '../../src/store/types.js';
import { useNow } from './app.js';
import { formatTime, isoTime } from './format.js';
import { send } from './http.js';
import { MatcherForm, MatcherList, Messages, parseMatchers, useMatcherPage } from './matcher-form.js';

function stateOf(s: Silence, now: number): 'active' | 'scheduled' | 'expired' {
  if (s.endsAt <= now) return 'expired';
  return s.startsAt > now ? 'scheduled' : 'active';
}

export function SilencesPage() {
  const now = useNow(5000);
  const page = useMatcherPage<Silence>('api/v1/silences', 'silences');
  const [hours, setHours] = useState('2');

  const create = (e: Event) => {
    e.preventDefault();
    void page.act('Could not create the silence', async () => {
      const matchers = parseMatchers(page.matchers);
      const duration = Number(hours);
      if (!(duration > 0)) throw new Error('duration: a number of hours above 0');
      const created = await send<Silence>('POST', 'api/v1/silences', page.token, {
        matchers,
        endsAt: new Date(Date.now() + duration * 3600_000).toISOString(),
        createdBy: page.createdBy,
        comment: page.comment,
      });
      page.setMatchers('');
      page.setComment('');
      return `Silence ${created.id} created, until ${formatTime(created.endsAt)}.`;
    });
  };

  const expire = (s: Silence) =>
    page.act(`Could not expire ${s.id}`, async () => {
      await send('DELETE', `api/v1/silences/${encodeURIComponent(s.id)}`, page.token);
      return `Silence ${s.id} expired.`;
    });

  return (
    <>
      <h1 tabIndex={-1}>Silences</h1>
      <Messages notice={page.notice} error={page.error} />
      <section aria-labelledby="new-h">
        <h2 id="new-h">New silence</h2>
        <MatcherForm
          page={page}
          placeholder="target=credit-scorer, check=~integrity|canary"
          submit="Create silence"
          onSubmit={create}
        >
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
        </MatcherForm>
      </section>
      <section aria-labelledby="list-h">
        <h2 id="list-h">All silences</h2>
        <MatcherList
          items={page.items}
          kind="silence"
          now={now}
          stateOf={stateOf}
          until={(s) => <time dateTime={isoTime(s.endsAt)}>{formatTime(s.endsAt, now)}</time>}
          action={(s, state) =>
            state !== 'expired' &&
            !s.id.startsWith('config-') && (
              <button type="button" onClick={() => void expire(s)} aria-label={`Expire silence ${s.id}`}>
                Expire
              </button>
            )
          }
        />
      </section>
    </>
  );
}
