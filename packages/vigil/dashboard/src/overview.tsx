/**
 * Overview: every target as a tile with its checks' states (icon and word, never colour alone), the
 * model version, a latency sparkline and the time in the current state; summary counts that double as
 * state filters, a search box, and region and label filters.
 */
import { memo } from 'preact/compat';
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { CheckState } from '../../src/types.js';
import { checkHref, useLive } from './app.js';
import { formatAge, formatMs, STATE_META, STATE_ORDER, worstState } from './format.js';
import type { Live, Row } from './live.js';

/** One target's checks, in the hub's order. */
interface TargetGroup {
  target: string;
  rows: Row[];
}

function groupByTarget(rows: Iterable<Row>): TargetGroup[] {
  const groups = new Map<string, Row[]>();
  for (const row of rows) {
    const list = groups.get(row.target);
    if (list) list.push(row);
    else groups.set(row.target, [row]);
  }
  return [...groups].map(([target, list]) => ({ target, rows: list }));
}

/** Text a search matches against: target, check, model, version, region, labels. */
function haystack(row: Row): string {
  const labels = Object.entries(row.labels).map(([k, v]) => `${k}=${v}`);
  return [row.target, row.check, row.model ?? '', row.modelVersion ?? '', row.region, ...labels]
    .join(' ')
    .toLowerCase();
}

export function Overview({ live }: { live: Live }) {
  const version = useLive(live);
  // Time-in-state cells are refreshed in place every 5 s (see Age), not by re-rendering every tile.
  useEffect(() => {
    const timer = setInterval(() => {
      const now = Date.now();
      for (const cell of document.querySelectorAll<HTMLElement>('[data-since]')) {
        cell.textContent = formatAge(now - Number(cell.dataset.since));
      }
    }, 5000);
    return () => clearInterval(timer);
  }, []);
  const [search, setSearch] = useState('');
  const [states, setStates] = useState<ReadonlySet<CheckState>>(new Set());
  const [region, setRegion] = useState('');
  const [label, setLabel] = useState('');
  const all = useMemo(() => [...live.rows.values()], [live, version]);
  const counts = useMemo(() => {
    const c: Record<CheckState, number> = { unhealthy: 0, degraded: 0, pending: 0, unknown: 0, healthy: 0 };
    for (const row of all) c[row.state]++;
    return c;
  }, [all]);
  // Regions and labels change only when the set of checks does (a reload), not with each result.
  // (`all` is read as of the last structure change: the lists it yields are the same until then.)
  const structure = live.structure;
  const regions = useMemo(() => [...new Set(all.map((r) => r.region))].sort(), [structure]);
  const labels = useMemo(() => {
    const set = new Set<string>();
    for (const row of all) for (const [k, v] of Object.entries(row.labels)) set.add(`${k}=${v}`);
    return [...set].sort();
  }, [structure]);

  const groups = useMemo(() => {
    const needle = search.trim().toLowerCase();
    const eq = label.indexOf('=');
    const [labelKey, labelValue] = eq === -1 ? ['', ''] : [label.slice(0, eq), label.slice(eq + 1)];
    // A target is shown when any of its checks passes every filter; then all its checks are shown.
    const keep = (row: Row) =>
      (states.size === 0 || states.has(row.state)) &&
      (region === '' || row.region === region) &&
      (label === '' || row.labels[labelKey] === labelValue) &&
      (needle === '' || haystack(row).includes(needle));
    // Filtered-out tiles are unmounted. Keeping them mounted and `hidden` made clearing a filter cheap
    // (89 vs 271 ms at 2,000 checks) but narrowing dear (570-720 vs 40-70 ms): see BENCHMARKS.md.
    return groupByTarget(all).map((g) => ({ group: g, shown: g.rows.some(keep) }));
  }, [all, search, states, region, label]);
  const shown = groups.filter((g) => g.shown).length;

  const toggle = (s: CheckState) => {
    const next = new Set(states);
    if (next.has(s)) next.delete(s);
    else next.add(s);
    setStates(next);
  };

  return (
    <>
      <h1 tabIndex={-1}>Overview</h1>
      <section aria-label="Checks by state" class="summary">
        {STATE_ORDER.map((s) => (
          <button
            type="button"
            key={s}
            class={`count state-${s}`}
            aria-pressed={states.has(s)}
            onClick={() => toggle(s)}
            title={`Show only ${STATE_META[s].label.toLowerCase()} checks (toggle)`}
          >
            <span aria-hidden="true">{STATE_META[s].icon}</span> {STATE_META[s].label}{' '}
            <strong>{counts[s]}</strong>
          </button>
        ))}
      </section>
      <form class="filters" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Search
          <input
            type="search"
            value={search}
            onInput={(e) => setSearch(e.currentTarget.value)}
            placeholder="target, model, label…"
          />
        </label>
        <label>
          Region
          <select value={region} onChange={(e) => setRegion(e.currentTarget.value)}>
            <option value="">All regions</option>
            {regions.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <label>
          Label
          <select value={label} onChange={(e) => setLabel(e.currentTarget.value)}>
            <option value="">All labels</option>
            {labels.map((l) => (
              <option key={l} value={l}>
                {l}
              </option>
            ))}
          </select>
        </label>
        <p class="shown" aria-live="polite">
          {shown} of {groups.length} targets
        </p>
      </form>
      {!live.loaded && !live.error && <p>Loading…</p>}
      {live.loaded && all.length === 0 && <p>No checks are configured.</p>}
      <ul class="tiles" aria-label="Targets">
        {groups
          .filter((g) => g.shown)
          .map((g) => (
            <Tile key={g.group.target} group={g.group} />
          ))}
      </ul>
    </>
  );
}

interface TileProps {
  group: TargetGroup;
}

const sameGroup = (a: TileProps, b: TileProps) =>
  a.group.rows.length === b.group.rows.length && a.group.rows.every((row, i) => row === b.group.rows[i]);

/** Time in the current state; its text is refreshed in place by the overview's 5 s timer. */
function Age({ since }: { since: number }) {
  const cell = useRef<HTMLTableCellElement>(null);
  useLayoutEffect(() => {
    if (cell.current) cell.current.textContent = formatAge(Date.now() - since);
  }, [since]);
  return <td class="age" ref={cell} data-since={since} />;
}

/** One target's tile; re-rendered only when one of its rows changed. */
const Tile = memo(function Tile({ group }: TileProps) {
  const first = group.rows[0];
  const state = worstState(group.rows.map((r) => r.state));
  const versions = [...new Set(group.rows.map((r) => r.modelVersion).filter((v) => v !== undefined))];
  const labels = first ? Object.entries(first.labels) : [];
  return (
    <li class={`tile state-${state}`} data-target={group.target} data-state={state} aria-label={group.target}>
      <div class="tile-head">
        <h2>{group.target}</h2>
        <StateBadge state={state} />
      </div>
      <p class="model">
        {first?.model ?? 'no model name'}
        {versions.length > 0 && <> · version {versions.join(', ')}</>}
      </p>
      {labels.length > 0 && (
        <ul class="labels" aria-label="Labels">
          {labels.map(([k, v]) => (
            <li key={k}>{`${k}=${v}`}</li>
          ))}
        </ul>
      )}
      {/* Each row is headed by its check's name (th scope=row); the tile's label names the target. */}
      <table class="checks">
        <tbody>
          {group.rows.map((row) => (
            <tr key={`${row.checkId}|${row.region}`} data-check-id={row.checkId} data-state={row.state}>
              <th scope="row">
                <a href={checkHref(row.checkId)}>{row.check}</a>
                {row.region !== 'local' && <span class="region"> {row.region}</span>}
              </th>
              <td>
                <StateBadge state={row.state} flapping={row.flapping} />
              </td>
              <td>
                <Sparkline values={row.recentMs} />
              </td>
              <Age since={row.since} />
            </tr>
          ))}
        </tbody>
      </table>
    </li>
  );
}, sameGroup);

/** A state as an icon plus its name, coloured; flapping is said in words too. */
export function StateBadge({ state, flapping = false }: { state: CheckState; flapping?: boolean }) {
  const meta = STATE_META[state];
  return (
    <span class={`badge state-${state}`}>
      <span aria-hidden="true">{meta.icon}</span> {meta.label}
      {flapping && <span class="flapping"> · flapping</span>}
    </span>
  );
}

/** Latest durations as a small line; its label says the latest value and the maximum in words. */
export function Sparkline({ values }: { values: readonly number[] }) {
  const width = 90;
  const height = 22;
  if (values.length === 0) return <span class="spark-empty">no probes yet</span>;
  const max = Math.max(...values, 1);
  const step = values.length > 1 ? width / (values.length - 1) : 0;
  const points = values
    .map((v, i) => `${(i * step).toFixed(1)},${(height - 1 - (v / max) * (height - 2)).toFixed(1)}`)
    .join(' ');
  const latest = values[values.length - 1] ?? 0;
  return (
    <span class="spark">
      <svg
        width={width}
        height={height}
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label={`latency of the last ${values.length} probes, max ${formatMs(max)}`}
      >
        <polyline points={points} fill="none" stroke="currentColor" stroke-width="1.5" />
      </svg>
      <span class="spark-value">{formatMs(latest)}</span>
    </span>
  );
}
