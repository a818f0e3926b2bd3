/**
 * What the silences and maintenance pages share: a list loaded from the API, a form of label matchers
 * created with the API token (kept in this tab's sessionStorage only, never sent anywhere but the hub's
 * mutating routes), the notice or error of the last action, and the rows' matcher text.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { SilenceMatcher } from '../../src/store/types.js';
import { formatTime, isoTime } from './format.js';
import { getJson } from './http.js';

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

/** Matchers as a person writes them: `a=b, c=~d`. */
export function formatMatchers(matchers: readonly SilenceMatcher[]): string {
  return matchers.map((m) => `${m.label}${m.isRegex ? '=~' : '='}${m.value}`).join(', ');
}

/**
 * A matcher page's state: the list at `path` (its array under `key`), the form's shared fields, the
 * token remembered for the tab, and `act`, which clears the last message, runs an action and reports
 * its failure as `<failure>: <message>`; the list is loaded again after each action.
 */
export function useMatcherPage<T>(path: string, key: string) {
  const [items, setItems] = useState<T[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [notice, setNotice] = useState<string | undefined>();
  const [token, setToken] = useState(() => sessionStorage.getItem(TOKEN_KEY) ?? '');
  const [matchers, setMatchers] = useState('');
  const [createdBy, setCreatedBy] = useState('');
  const [comment, setComment] = useState('');

  const load = async () => {
    try {
      setItems((await getJson<Record<string, T[]>>(path))[key]);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  useEffect(() => {
    void load();
  }, [path]);

  const rememberToken = (value: string) => {
    setToken(value);
    sessionStorage.setItem(TOKEN_KEY, value);
  };

  /** Runs `action` (which returns the notice to show), then reloads; a failure shows as `failure: why`. */
  const act = async (failure: string, action: () => Promise<string>) => {
    setError(undefined);
    setNotice(undefined);
    try {
      const done = await action();
      await load();
      setNotice(done);
    } catch (err) {
      setError(`${failure}: ${(err as Error).message}`);
    }
  };

  return {
    items,
    error,
    notice,
    token,
    rememberToken,
    act,
    matchers,
    setMatchers,
    createdBy,
    setCreatedBy,
    comment,
    setComment,
  };
}

/** The page's notice and error, announced politely; the error also as an alert. */
export function Messages({ notice, error }: { notice: string | undefined; error: string | undefined }) {
  return (
    <div aria-live="polite">
      {notice && <p class="notice">{notice}</p>}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

/**
 * The form of a matcher page: the matchers, `children` (the page's own fields, e.g. a duration),
 * who and why, and the API token.
 */
export function MatcherForm({
  page,
  placeholder,
  submit,
  onSubmit,
  children,
}: {
  page: ReturnType<typeof useMatcherPage>;
  placeholder: string;
  submit: string;
  onSubmit: (e: Event) => void;
  children?: ComponentChildren;
}) {
  return (
    <form class="silence-form" onSubmit={onSubmit}>
      <label>
        Matchers
        <textarea
          required
          rows={2}
          value={page.matchers}
          onInput={(e) => page.setMatchers(e.currentTarget.value)}
          placeholder={placeholder}
          aria-describedby="matchers-help"
        />
      </label>
      <p id="matchers-help" class="help">
        One per line or comma-separated: <code>label=value</code> or <code>label=~regex</code>. All must
        match.
      </p>
      {children}
      <label>
        Created by
        <input
          required
          value={page.createdBy}
          onInput={(e) => page.setCreatedBy(e.currentTarget.value)}
          autoComplete="name"
        />
      </label>
      <label>
        Comment
        <input required value={page.comment} onInput={(e) => page.setComment(e.currentTarget.value)} />
      </label>
      <label>
        API token
        <input
          type="password"
          required
          value={page.token}
          onInput={(e) => page.rememberToken(e.currentTarget.value)}
          autoComplete="off"
          aria-describedby="token-help"
        />
      </label>
      <p id="token-help" class="help">
        The hub's bearer token (<code>--token</code> or <code>VIGIL_API_TOKEN</code>); kept in this tab only.
      </p>
      <button type="submit">{submit}</button>
    </form>
  );
}

/** What a matcher page lists: a silence or a one-off maintenance window. */
interface MatcherItem {
  id: string;
  matchers: readonly SilenceMatcher[];
  startsAt: number;
  createdBy: string;
  comment: string;
}

/**
 * The list: "Loading…", "None." or a table of State, Matchers, From, Until, By, Comment and the row's
 * action. Each row is marked `data-<kind>="<id>"`; `stateOf` is given the later of `now` (which ticks
 * every 5 s) and the present, so an item created a moment ago is not shown as scheduled.
 */
export function MatcherList<T extends MatcherItem, S extends string>({
  items,
  kind,
  now,
  stateOf,
  until,
  action,
}: {
  items: readonly T[] | undefined;
  kind: string;
  now: number;
  stateOf: (item: T, now: number) => S;
  until: (item: T) => ComponentChildren;
  action: (item: T, state: S) => ComponentChildren;
}) {
  if (items === undefined) return <p>Loading…</p>;
  if (items.length === 0) return <p>None.</p>;
  return (
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
        {items.map((item) => {
          const state = stateOf(item, Math.max(now, Date.now()));
          return (
            <tr key={item.id} {...{ [`data-${kind}`]: item.id }}>
              <td>{state}</td>
              <td>
                <code>{formatMatchers(item.matchers)}</code>
              </td>
              <td>
                <time dateTime={isoTime(item.startsAt)}>{formatTime(item.startsAt, now)}</time>
              </td>
              <td>{until(item)}</td>
              <td>{item.createdBy}</td>
              <td>{item.comment}</td>
              <td>{action(item, state)}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
