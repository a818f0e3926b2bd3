/**
 * Overview: every target as a tile with its checks' states (icon and word, never colour alone), the
 * model version, a latency sparkline and the time in the current state; summary counts that double as
 * state filters, a search box, and region and label filters. The grid of tiles is virtualised: only
 * the rows of tiles on screen (and two on either side) are in the page, so 10,000 checks cost what a
 * screenful does; counts, filters and search run over every check.
 */
import { memo } from 'preact/compat';
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { CheckState } from '../../src/types.js';
import { checkHref, useLive } from './app.js';
import { formatAge, formatMs, STATE_META, STATE_ORDER, worstState } from './format.js';
import type { Live, Row } from './live.js';
import { useWindowVirtualizer } from './virtual.js';

/** The grid's geometry, as style.css sets it for `.tiles`: `minmax(330px, 1fr)` columns, 0.75rem gaps. */
const TILE_MIN_WIDTH = 330;
const GRID_GAP = 12;
/** Rows of tiles rendered beyond the viewport on either side: Tab and a short scroll find them there. */
const OVERSCAN_ROWS = 2;

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
  const [deferredOnly, setDeferredOnly] = useState(false);
  const [region, setRegion] = useState('');
  const [label, setLabel] = useState('');
  const all = useMemo(() => [...live.rows.values()], [live, version]);
  const counts = useMemo(() => {
    const c: Record<CheckState, number> = {
      unhealthy: 0,
      degraded: 0,
      stale: 0,
      pending: 0,
      unknown: 0,
      healthy: 0,
    };
    for (const row of all) c[row.state]++;
    return c;
  }, [all]);
  const deferredCount = useMemo(() => all.filter((row) => row.deferred !== undefined).length, [all]);
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
      (!deferredOnly || row.deferred !== undefined) &&
      (region === '' || row.region === region) &&
      (label === '' || row.labels[labelKey] === labelValue) &&
      (needle === '' || haystack(row).includes(needle));
    // Filtered-out tiles are unmounted. Keeping them mounted and `hidden` made clearing a filter cheap
    // (89 vs 271 ms at 2,000 checks) but narrowing dear (570-720 vs 40-70 ms): see BENCHMARKS.md.
    return groupByTarget(all).map((g) => ({ group: g, shown: g.rows.some(keep) }));
  }, [all, search, states, deferredOnly, region, label]);
  const shown = useMemo(() => groups.filter((g) => g.shown).map((g) => g.group), [groups]);

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
        <button
          type="button"
          class="count deferred"
          aria-pressed={deferredOnly}
          onClick={() => setDeferredOnly(!deferredOnly)}
          title="Show only checks whose probes are deferred by their probe budget or held for readiness (toggle)"
        >
          <span aria-hidden="true">‖</span> Deferred <strong>{deferredCount}</strong>
        </button>
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
          {shown.length} of {groups.length} targets
        </p>
      </form>
      {!live.loaded && !live.error && <p>Loading…</p>}
      {live.loaded && all.length === 0 && <p>No checks are configured.</p>}
      <TileGrid groups={shown} />
    </>
  );
}

/**
 * A tile's height before it is measured, in px: its head and model line, a line of labels, and a
 * row per check (style.css). Only the scroll bar's length rests on it: rows on screen are measured.
 */
function estimateTileHeight(group: TargetGroup): number {
  const labels = Object.keys(group.rows[0]?.labels ?? {}).length > 0 ? 26 : 0;
  return 70 + labels + 30 * group.rows.length;
}

/**
 * The tiles of `groups` in rows of as many columns as the grid has, virtualised by row against the
 * page's scroll. The rows not rendered are the list's padding, so the scroll bar and the tiles'
 * positions are those of the whole list. `data-count` on the list says how many tiles it holds in all.
 */
function TileGrid({ groups }: { groups: TargetGroup[] }) {
  const list = useRef<HTMLUListElement>(null);
  const [width, setWidth] = useState(() => document.documentElement.clientWidth);
  const [top, setTop] = useState(0);
  useLayoutEffect(() => {
    const ul = list.current;
    if (ul === null) return;
    const observer = new ResizeObserver(() => setWidth(ul.clientWidth));
    observer.observe(ul);
    return () => observer.disconnect();
  }, []);
  // Where the list starts in the page (the summary and filters above it may change height).
  useLayoutEffect(() => {
    const ul = list.current;
    if (ul === null) return;
    const at = Math.round(ul.getBoundingClientRect().top + window.scrollY);
    if (at !== top) setTop(at);
  });
  const columns = Math.max(1, Math.floor((width + GRID_GAP) / (TILE_MIN_WIDTH + GRID_GAP)));
  const rowCount = Math.ceil(groups.length / columns);
  const rowOf = (index: number) => groups.slice(index * columns, (index + 1) * columns);
  const virtualizer = useWindowVirtualizer({
    count: rowCount,
    estimateSize: (index) => Math.max(0, ...rowOf(index).map(estimateTileHeight)),
    // A row is known by its first tile and the column count: a filter or a resize starts it afresh.
    getItemKey: (index) => `${columns}|${groups[index * columns]?.target ?? index}`,
    overscan: OVERSCAN_ROWS,
    gap: GRID_GAP,
    scrollMargin: top,
  });
  const items = virtualizer.getVirtualItems();
  const first = items[0];
  const last = items[items.length - 1];
  const paddingTop = first ? first.start - top : 0;
  const paddingBottom = last ? Math.max(0, virtualizer.getTotalSize() - (last.end - top)) : 0;
  return (
    <ul
      class="tiles"
      aria-label="Targets"
      ref={list}
      data-count={groups.length}
      style={{ paddingTop: `${paddingTop}px`, paddingBottom: `${paddingBottom}px` }}
    >
      {items.flatMap((item) =>
        rowOf(item.index).map((group, column) => (
          <Tile
            key={group.target}
            group={group}
            position={item.index * columns + column + 1}
            setSize={groups.length}
            // The first tile of a row stands for the row's height: grid items stretch to their row.
            measure={column === 0 ? virtualizer.measureElement : undefined}
            row={item.index}
          />
        )),
      )}
    </ul>
  );
}

interface TileProps {
  group: TargetGroup;
  /** 1-based place in the whole list, and the list's length (`aria-posinset`, `aria-setsize`). */
  position: number;
  setSize: number;
  /** Set on the first tile of a row: measures the row. */
  measure: ((element: HTMLElement | null) => void) | undefined;
  row: number;
}

const sameGroup = (a: TileProps, b: TileProps) =>
  a.position === b.position &&
  a.setSize === b.setSize &&
  a.measure === b.measure &&
  a.row === b.row &&
  a.group.rows.length === b.group.rows.length &&
  a.group.rows.every((row, i) => row === b.group.rows[i]);

/** Time in the current state; its text is refreshed in place by the overview's 5 s timer. */
function Age({ since }: { since: number }) {
  const cell = useRef<HTMLTableCellElement>(null);
  useLayoutEffect(() => {
    if (cell.current) cell.current.textContent = formatAge(Date.now() - since);
  }, [since]);
  return <td class="age" ref={cell} data-since={since} />;
}

/** One target's tile; re-rendered only when one of its rows changed or it moved in the list. */
const Tile = memo(function Tile({ group, position, setSize, measure, row }: TileProps) {
  const first = group.rows[0];
  const state = worstState(group.rows.map((r) => r.state));
  const versions = [...new Set(group.rows.map((r) => r.modelVersion).filter((v) => v !== undefined))];
  const labels = first ? Object.entries(first.labels) : [];
  return (
    <li
      class={`tile state-${state}`}
      data-target={group.target}
      data-state={state}
      aria-label={group.target}
      aria-posinset={position}
      aria-setsize={setSize}
      data-index={row}
      ref={measure}
    >
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
      <RegionMarkers rows={group.rows} />
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
                <StateBadge
                  state={row.state}
                  flapping={row.flapping}
                  lastKnown={row.lastKnown?.state}
                  deferred={row.deferred?.message}
                />
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

/**
 * A compact marker per check probed from several regions: one small badge per region (its state's
 * icon, coloured), and how many of them fail. The check page has the full matrix.
 */
function RegionMarkers({ rows }: { rows: readonly Row[] }) {
  const byCheck = new Map<string, Row[]>();
  for (const row of rows) byCheck.set(row.checkId, [...(byCheck.get(row.checkId) ?? []), row]);
  const multi = [...byCheck.values()].filter((rs) => rs.length > 1);
  if (multi.length === 0) return null;
  return (
    <ul class="region-markers" aria-label="Checks by region">
      {multi.map((rs) => {
        const sorted = [...rs].sort((a, b) => a.region.localeCompare(b.region));
        const failing = sorted.filter((r) => r.state === 'unhealthy').length;
        const said = sorted.map((r) => `${r.region} ${STATE_META[r.state].label.toLowerCase()}`).join(', ');
        return (
          <li key={rs[0]?.checkId} data-check-id={rs[0]?.checkId} data-failing={failing}>
            <a href={checkHref(rs[0]?.checkId ?? '')} aria-label={`${rs[0]?.check} by region: ${said}`}>
              {rs[0]?.check}{' '}
              {sorted.map((r) => (
                <span
                  key={r.region}
                  class={`badge mini state-${r.state}`}
                  data-region={r.region}
                  title={`${r.region}: ${STATE_META[r.state].label}`}
                >
                  <span aria-hidden="true">{STATE_META[r.state].icon}</span> {r.region}
                </span>
              ))}{' '}
              {failing > 0 && (
                <span class="region-failing">
                  {failing} of {sorted.length} failing
                </span>
              )}
            </a>
          </li>
        );
      })}
    </ul>
  );
}

/**
 * A state as an icon plus its name, coloured; flapping is said in words too, and so are the state a
 * stale check was last known to be in and a deferral (its reason in the title).
 */
export function StateBadge({
  state,
  flapping = false,
  lastKnown,
  deferred,
}: {
  state: CheckState;
  flapping?: boolean;
  lastKnown?: CheckState | undefined;
  /** The deferral's message while the check's probes are put off. */
  deferred?: string | undefined;
}) {
  const meta = STATE_META[state];
  const known =
    state === 'stale' && lastKnown !== undefined ? STATE_META[lastKnown].label.toLowerCase() : undefined;
  return (
    <span
      class={`badge state-${state}`}
      title={state === 'stale' ? 'Results stopped arriving: Vigil cannot see this check' : undefined}
    >
      <span aria-hidden="true">{meta.icon}</span> {meta.label}
      {known !== undefined && <span class="last-known"> · was {known}</span>}
      {flapping && <span class="flapping"> · flapping</span>}
      {deferred !== undefined && (
        <span class="deferred" title={deferred}>
          {' '}
          · <span aria-hidden="true">‖</span> deferred
        </span>
      )}
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
