/**
 * The dashboard's shell: a skip link, the navigation, a connection indicator, and a hash router
 * (`#/`, `#/check/<id>`, `#/incidents`, `#/incident/<id>`, `#/silences`,
 * `#/maintenance`) so the hub serves one page.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { CheckPage } from './check.js';
import { IncidentPage, IncidentsPage } from './incidents.js';
import type { Live } from './live.js';
import { MaintenancePage } from './maintenance.js';
import { Overview } from './overview.js';
import { SilencesPage } from './silences.js';

export type Route =
  | { page: 'overview' }
  | { page: 'check'; id: string }
  | { page: 'incidents' }
  | { page: 'incident'; id: string }
  | { page: 'silences' }
  | { page: 'maintenance' };

/** Reads the route from `location.hash`; anything unknown is the overview. */
export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#\/?/, '');
  const [page, ...rest] = path.split('/');
  const arg = decodeURIComponent(rest.join('/'));
  if (page === 'check' && arg) return { page: 'check', id: arg };
  if (page === 'incidents') return { page: 'incidents' };
  if (page === 'incident' && arg) return { page: 'incident', id: arg };
  if (page === 'silences') return { page: 'silences' };
  if (page === 'maintenance') return { page: 'maintenance' };
  return { page: 'overview' };
}

/** The href of a check's page. */
export const checkHref = (checkId: string) => `#/check/${encodeURIComponent(checkId)}`;
export const incidentHref = (id: string) => `#/incident/${encodeURIComponent(id)}`;

/** Re-renders its caller whenever the live model announces a change. */
export function useLive(live: Live): number {
  const [version, setVersion] = useState(0);
  useEffect(() => live.subscribe(() => setVersion((v) => v + 1)), [live]);
  return version;
}

/** The current time, refreshed every `everyMs` (time-in-state labels). */
export function useNow(everyMs: number): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}

const NAV: ReadonlyArray<{ href: string; label: string; pages: Route['page'][] }> = [
  { href: '#/', label: 'Overview', pages: ['overview', 'check'] },
  { href: '#/incidents', label: 'Incidents', pages: ['incidents', 'incident'] },
  { href: '#/silences', label: 'Silences', pages: ['silences'] },
  { href: '#/maintenance', label: 'Maintenance', pages: ['maintenance'] },
];

export function App({ live }: { live: Live }) {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  const main = useRef<HTMLElement>(null);
  useLive(live);
  useEffect(() => {
    const onHash = () => {
      setRoute(parseRoute(location.hash));
      // Move focus to the new page, as a full navigation would, so screen readers announce it.
      requestAnimationFrame(() => main.current?.querySelector<HTMLElement>('h1')?.focus());
    };
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);

  const connection =
    live.connection === 'live' ? 'Live' : live.connection === 'connecting' ? 'Connecting…' : 'Reconnecting…';
  return (
    <>
      {/* A button, not an anchor: `#main` would be read as a route by the hash router. */}
      <button
        type="button"
        class="skip"
        onClick={() => main.current?.querySelector<HTMLElement>('h1')?.focus()}
      >
        Skip to content
      </button>
      <header class="bar">
        <span class="brand">Vigil</span>
        <nav aria-label="Main">
          <ul>
            {NAV.map((n) => (
              <li key={n.href}>
                <a href={n.href} aria-current={n.pages.includes(route.page) ? 'page' : undefined}>
                  {n.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span class={`conn conn-${live.connection}`} role="status">
          <span aria-hidden="true">{live.connection === 'live' ? '●' : '○'}</span> {connection}
        </span>
      </header>
      <main id="main" ref={main}>
        {live.error && (
          <p class="error" role="alert">
            {live.error}
          </p>
        )}
        {route.page === 'overview' && <Overview live={live} />}
        {route.page === 'check' && <CheckPage key={route.id} live={live} checkId={route.id} />}
        {route.page === 'incidents' && <IncidentsPage live={live} />}
        {route.page === 'incident' && <IncidentPage key={route.id} live={live} id={route.id} />}
        {route.page === 'silences' && <SilencesPage />}
        {route.page === 'maintenance' && <MaintenancePage />}
      </main>
    </>
  );
}
