/**
 * One-off maintenance windows: the list (open, scheduled, over), a form that starts one now — for a
 * number of hours, or until someone ends it — with the API token, and an end button (the form, token
 * and messages shared with the silences page: `matcher-form.tsx`). Recurring windows are config
 * (`alerting.maintenance`) and not listed here.
 */
import { useState } from 'preact/hooks';
import type { OneOffWindow } from '../../src/store/types.js';
import { useNow } from './app.js';
import { formatTime, isoTime } from './format.js';
import { send } from './http.js';
import { MatcherForm, MatcherList, Messages, parseMatchers, useMatcherPage } from './matcher-form.js';

function stateOf(w: OneOffWindow, now: number): 'open' | 'scheduled' | 'over' {
  if (w.endsAt !== null && w.endsAt <= now) return 'over';
  return w.startsAt > now ? 'scheduled' : 'open';
}

export function MaintenancePage() {
  const now = useNow(5000);
  const page = useMatcherPage<OneOffWindow>('api/v1/maintenance-windows', 'windows');
  const [hours, setHours] = useState('');

  const create = (e: Event) => {
    e.preventDefault();
    void page.act('Could not start the maintenance window', async () => {
      const body: Record<string, unknown> = {
        matchers: parseMatchers(page.matchers),
        createdBy: page.createdBy,
        comment: page.comment,
      };
      if (hours.trim() !== '') {
        const duration = Number(hours);
        if (!(duration > 0))
          throw new Error('duration: a number of hours above 0, or empty for "until ended"');
        body.endsAt = new Date(Date.now() + duration * 3600_000).toISOString();
      }
      const created = await send<OneOffWindow>('POST', 'api/v1/maintenance-windows', page.token, body);
      page.setMatchers('');
      page.setComment('');
      return `Maintenance window ${created.id} started, ${created.endsAt === null ? 'until ended' : `until ${formatTime(created.endsAt)}`}.`;
    });
  };

  const end = (w: OneOffWindow) =>
    page.act(`Could not end ${w.id}`, async () => {
      await send('POST', `api/v1/maintenance-windows/${encodeURIComponent(w.id)}/end`, page.token, {
        endedBy: page.createdBy.trim() === '' ? 'dashboard' : page.createdBy,
      });
      return `Maintenance window ${w.id} ended.`;
    });

  return (
    <>
      <h1 tabIndex={-1}>Maintenance</h1>
      <Messages notice={page.notice} error={page.error} />
      <section aria-labelledby="new-h">
        <h2 id="new-h">New maintenance window</h2>
        <p class="help">
          While a window is open, matching alerts are not notified and recovery actions do not run. Recurring
          windows are set in the config (<code>alerting.maintenance</code>).
        </p>
        <MatcherForm
          page={page}
          placeholder="target=credit-scorer"
          submit="Start maintenance window"
          onSubmit={create}
        >
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
        </MatcherForm>
      </section>
      <section aria-labelledby="list-h">
        <h2 id="list-h">All one-off windows</h2>
        <MatcherList
          items={page.items}
          kind="maintenance"
          now={now}
          stateOf={stateOf}
          until={(w) => (
            <>
              {w.endsAt === null ? (
                'until ended'
              ) : (
                <time dateTime={isoTime(w.endsAt)}>{formatTime(w.endsAt, now)}</time>
              )}
              {w.endedBy !== null && ` (ended by ${w.endedBy})`}
            </>
          )}
          action={(w, state) =>
            state !== 'over' && (
              <button type="button" onClick={() => void end(w)} aria-label={`End maintenance window ${w.id}`}>
                End
              </button>
            )
          }
        />
      </section>
    </>
  );
}
