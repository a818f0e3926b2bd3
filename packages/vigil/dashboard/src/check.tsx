/**
 * A check's page: its state and thresholds; latency over time split into phases (dns, connect, tls,
 * processing, transfer) with the degraded and failed thresholds drawn; the outcome timeline; the last
 * results with their failure reasons; the latest probe's request and response (redacted by the hub);
 * and its incidents. A check probed from several regions (agents) has its regions side by side: each
 * region's state and latency, and the hub's verdict across them (regional or global). New results
 * arrive over the live stream.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import type { RegionVerdict } from '../../src/alerting/alerts.js';
import type { CanaryView, CheckInfo, CheckStatus, ExchangeView } from '../../src/hub/types.js';
import type { Incident, ProbeResult, SignalReading } from '../../src/types.js';
import { incidentHref, useLive, useNow } from './app.js';
import { formatAge, formatMs, formatTime, isoTime, OUTCOME_META, STATE_ORDER } from './format.js';
import { getJson } from './http.js';
import type { Live, Row } from './live.js';
import { StateBadge } from './overview.js';

/** Results the page loads and keeps: about 80 minutes at a 10 s interval. */
const KEEP = 500;
/** Results the table lists, newest first. */
const TABLE = 20;
/** Outcomes the timeline shows. */
const TIMELINE = 120;

interface CheckAnswer {
  check: CheckInfo;
  status: CheckStatus | null;
  lastExchange: ExchangeView | null;
}

export function CheckPage({ live, checkId }: { live: Live; checkId: string }) {
  useLive(live);
  const now = useNow(1000);
  const [detail, setDetail] = useState<CheckAnswer | undefined>();
  const [results, setResults] = useState<ProbeResult[]>([]);
  const [incidents, setIncidents] = useState<Incident[]>([]);
  const [error, setError] = useState<string | undefined>();
  const id = encodeURIComponent(checkId);

  useEffect(() => {
    let alive = true;
    const load = async () => {
      try {
        const [d, r, i] = await Promise.all([
          getJson<CheckAnswer>(`api/v1/checks/${id}`),
          getJson<{ results: ProbeResult[] }>(`api/v1/checks/${id}/results?limit=${KEEP}`),
          getJson<{ incidents: Incident[] }>(`api/v1/incidents?checkId=${id}&limit=20`),
        ]);
        if (!alive) return;
        setDetail(d);
        setResults(r.results);
        setIncidents(i.incidents);
        setError(undefined);
      } catch (err) {
        if (alive) setError((err as Error).message);
      }
    };
    void load();
    let exchangeTimer: ReturnType<typeof setTimeout> | undefined;
    const off = live.onResult((result) => {
      if (result.checkId !== checkId) return;
      setResults((rs) => (rs.length >= KEEP ? rs.slice(1) : rs.slice()).concat(result));
      // The exchange is not in the event: fetch it, at most once a second.
      exchangeTimer ??= setTimeout(async () => {
        exchangeTimer = undefined;
        try {
          const d = await getJson<CheckAnswer>(`api/v1/checks/${id}`);
          if (alive) setDetail(d);
        } catch {
          // Kept: the next result tries again.
        }
      }, 1000);
    });
    return () => {
      alive = false;
      off();
      clearTimeout(exchangeTimer);
    };
  }, [live, checkId, id]);

  // Incidents and the verdict across regions change with transitions: refetch on each.
  const transitions = live.transitions;
  useEffect(() => {
    if (transitions === 0) return;
    void getJson<{ incidents: Incident[] }>(`api/v1/incidents?checkId=${id}&limit=20`).then(
      (i) => setIncidents(i.incidents),
      () => {},
    );
    void getJson<CheckAnswer>(`api/v1/checks/${id}`).then(
      (d) => setDetail(d),
      () => {},
    );
  }, [transitions, id]);

  const regionRows = [...live.rows.values()].filter((r) => r.checkId === checkId);
  // The header speaks for the check as a whole: its worst region, as the overview's tile does.
  const status = worstRow(regionRows) ?? detail?.status ?? undefined;
  if (error && !detail) {
    return (
      <>
        <h1 tabIndex={-1}>{checkId}</h1>
        <p class="error" role="alert">
          {error}
        </p>
      </>
    );
  }
  const info = detail?.check;
  // The adapter's notes (e.g. the server as a whole not ready while this model is): from the newest
  // result stored, else the hub's last result.
  const latestNotes = results[results.length - 1]?.notes ?? detail?.status?.lastResult?.notes ?? [];
  return (
    <>
      <p class="crumbs">
        <a href="#/">Overview</a> / {status?.target ?? checkId.split('/')[0]}
      </p>
      <h1 tabIndex={-1}>
        {checkId}{' '}
        {status && (
          <StateBadge
            state={status.state}
            flapping={status.flapping}
            lastKnown={status.lastKnown?.state}
            deferred={status.deferred?.message}
          />
        )}
      </h1>
      {status && (
        <p>
          In this state for <strong>{formatAge(now - status.since)}</strong> (since{' '}
          <time dateTime={isoTime(status.since)}>{formatTime(status.since)}</time>)
          {status.consecutiveFailures > 0 && <>; {status.consecutiveFailures} consecutive failures</>}.
        </p>
      )}
      {status?.deferred && (
        <p class="deferred-note" role="status">
          <span aria-hidden="true">‖</span> <strong>Deferred</strong> until{' '}
          <time dateTime={isoTime(status.deferred.until)}>{formatTime(status.deferred.until)}</time>:{' '}
          {status.deferred.message} (since {formatTime(status.deferred.since)}).
        </p>
      )}
      {latestNotes.length > 0 && (
        <div class="result-notes" role="note" aria-labelledby="notes-h">
          <h2 id="notes-h">Notes of the latest result</h2>
          <p>Seen by the probe but not this check's failure:</p>
          <ul>
            {latestNotes.map((note, i) => (
              <li key={i}>{note}</li>
            ))}
          </ul>
        </div>
      )}
      {regionRows.length > 1 && <RegionMatrix rows={regionRows} verdict={detail?.status?.verdict} />}
      {info && <Facts info={info} status={status} />}
      {results.some((r) => r.readings !== undefined) && <Signals results={results} />}
      {info?.check === 'canary' && <CanaryPanel checkId={checkId} version={results.length} />}
      <section aria-labelledby="latency-h">
        <h2 id="latency-h">Latency by phase</h2>
        <LatencyChart results={results} info={info} />
      </section>
      <section aria-labelledby="timeline-h">
        <h2 id="timeline-h">Outcomes</h2>
        <Timeline results={results.slice(-TIMELINE)} />
      </section>
      <section aria-labelledby="results-h">
        <h2 id="results-h">Last results</h2>
        <ResultsTable results={results.slice(-TABLE).reverse()} />
      </section>
      <section aria-labelledby="exchange-h">
        <h2 id="exchange-h">Latest probe</h2>
        {detail?.lastExchange ? (
          <Exchange exchange={detail.lastExchange} />
        ) : (
          <p>
            The hub keeps a passing probe's request and response only while someone watches the check: the
            next probe's will show here.
          </p>
        )}
      </section>
      <section aria-labelledby="incidents-h">
        <h2 id="incidents-h">Incidents</h2>
        {incidents.length === 0 ? (
          <p>None.</p>
        ) : (
          <ul>
            {incidents.map((i) => (
              <li key={i.id}>
                <a href={incidentHref(i.id)}>
                  {i.closedAt === null ? 'Open' : 'Closed'} since {formatTime(i.openedAt)}
                </a>
                : {i.reason}
              </li>
            ))}
          </ul>
        )}
      </section>
    </>
  );
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

const VERDICT_TEXT: Record<RegionVerdict['state'], string> = {
  ok: 'no region failing',
  regional: 'regional failure (below the quorum: a warning per failing region)',
  global: 'global failure (at or above the quorum: critical)',
};

/** The median of `values` (0 for none). */
function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/**
 * A multi-region check's regions side by side: each region's state (live), its latest and median
 * recent latency, and the hub's verdict across them (refetched on each transition).
 */
function RegionMatrix({ rows, verdict }: { rows: Row[]; verdict: RegionVerdict | undefined }) {
  const now = useNow(5000);
  const sorted = [...rows].sort((a, b) => a.region.localeCompare(b.region));
  const list = (regions: readonly string[]) => (regions.length === 0 ? 'none' : regions.join(', '));
  return (
    <section aria-labelledby="regions-h" class="regions-matrix">
      <h2 id="regions-h">Regions</h2>
      {verdict && (
        <p class="verdict" data-verdict={verdict.state}>
          Verdict: <strong class={`verdict-word-${verdict.state}`}>{VERDICT_TEXT[verdict.state]}</strong>,
          since <time dateTime={isoTime(verdict.since)}>{formatTime(verdict.since)}</time>. Failing:{' '}
          {list(verdict.failing)}; reporting: {list(verdict.reporting)}; left out (agent down or stale):{' '}
          {list(verdict.absent)}.
        </p>
      )}
      <table class="results">
        <thead>
          <tr>
            <th scope="col">Region</th>
            <th scope="col">State</th>
            <th scope="col">Latest latency</th>
            <th scope="col">Median latency (recent)</th>
            <th scope="col">In this state for</th>
          </tr>
        </thead>
        <tbody>
          {sorted.map((row) => (
            <tr key={row.region} data-region={row.region} data-state={row.state}>
              <th scope="row">{row.region}</th>
              <td>
                <StateBadge
                  state={row.state}
                  flapping={row.flapping}
                  lastKnown={row.lastKnown?.state}
                  deferred={row.deferred?.message}
                />
              </td>
              <td>{row.recentMs.length > 0 ? formatMs(row.recentMs[row.recentMs.length - 1] ?? 0) : '–'}</td>
              <td>
                {row.recentMs.length > 0
                  ? `${formatMs(median(row.recentMs))} (${plural(row.recentMs.length, 'probe')})`
                  : '–'}
              </td>
              <td>{formatAge(now - row.since)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** A reading's state against its rule's thresholds (as the metrics check judges: value ≥ threshold). */
function signalState(r: SignalReading): 'missing' | 'unhealthy' | 'degraded' | 'healthy' {
  if (r.value === null) return 'missing';
  if (r.failed !== undefined && r.value >= r.failed) return 'unhealthy';
  if (r.degraded !== undefined && r.value >= r.degraded) return 'degraded';
  return 'healthy';
}

const formatValue = (v: number | null | undefined) =>
  v === null || v === undefined ? '–' : Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(3)));

/** The last values of one signal as a line, with its thresholds dashed; decoration beside the table's text. */
function Sparkline({ values, reading }: { values: (number | null)[]; reading: SignalReading }) {
  const W = 160;
  const H = 28;
  let top = Math.max(reading.failed ?? 0, reading.degraded ?? 0);
  for (const v of values) if (v !== null && v > top) top = v;
  top = top > 0 ? top * 1.1 : 1;
  const y = (v: number) => (H - 2 - (v / top) * (H - 4)).toFixed(1);
  const x = (i: number) => (values.length < 2 ? W / 2 : (i / (values.length - 1)) * (W - 2) + 1).toFixed(1);
  const points = values
    .map((v, i) => (v === null ? undefined : `${x(i)},${y(v)}`))
    .filter((p) => p !== undefined)
    .join(' ');
  const line = (v: number | undefined, cls: string) =>
    v === undefined ? null : <line class={cls} x1="0" x2={W} y1={y(v)} y2={y(v)} />;
  return (
    <svg class="sparkline" width={W} height={H} viewBox={`0 0 ${W} ${H}`} aria-hidden="true">
      {line(reading.degraded, 'at-degraded')}
      {line(reading.failed, 'at-failed')}
      <polyline points={points} />
    </svg>
  );
}

/**
 * A metrics check's server signals (queue depth, KV cache, …): each rule's latest value, its
 * thresholds, and its last values as a line; a state per signal as the check judges it.
 */
function Signals({ results }: { results: ProbeResult[] }) {
  const withReadings = results.filter((r) => r.readings !== undefined);
  const latest = withReadings[withReadings.length - 1]?.readings ?? [];
  return (
    <section aria-labelledby="signals-h">
      <h2 id="signals-h">Server signals</h2>
      <table class="signals">
        <thead>
          <tr>
            <th scope="col">Signal</th>
            <th scope="col">Latest</th>
            <th scope="col">Degraded at</th>
            <th scope="col">Failed at</th>
            <th scope="col">Last {withReadings.length}</th>
          </tr>
        </thead>
        <tbody>
          {latest.map((reading) => {
            const values = withReadings.map(
              (r) => r.readings?.find((g) => g.name === reading.name)?.value ?? null,
            );
            const state = signalState(reading);
            return (
              <tr key={reading.name} data-signal={reading.name} data-state={state}>
                <th scope="row">
                  <code>{reading.name}</code>
                  {reading.kind === 'rate' && ' (per second)'}
                </th>
                <td class={`state-${state}`}>
                  {reading.value === null ? 'missing' : formatValue(reading.value)}
                </td>
                <td>{formatValue(reading.degraded)}</td>
                <td>{formatValue(reading.failed)}</td>
                <td>
                  <Sparkline values={values} reading={reading} />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

function Facts({ info, status }: { info: CheckInfo; status: Omit<CheckStatus, 'lastResult'> | undefined }) {
  const seconds = (ms: number) => `${ms / 1000} s`;
  return (
    <dl class="facts">
      <dt>Endpoint</dt>
      <dd>
        {info.url} ({info.protocol})
      </dd>
      <dt>Model</dt>
      <dd>
        {info.model ?? '—'}
        {status?.modelVersion !== undefined && <> · version {status.modelVersion}</>}
      </dd>
      <dt>Interval</dt>
      <dd>
        {seconds(info.intervalMs)}, timeout {seconds(info.timeoutMs)}
        {info.fastIntervalMs !== null && <>, {seconds(info.fastIntervalMs)} while confirming</>}
      </dd>
      <dt>Thresholds</dt>
      <dd>
        unhealthy after {plural(info.failureThreshold, 'failure')}, healthy after{' '}
        {plural(info.successThreshold, 'pass', 'passes')}
      </dd>
      {(info.degradedMs !== undefined || info.failedMs !== undefined || info.adaptiveLatency) && (
        <>
          <dt>Latency thresholds</dt>
          <dd data-latency-thresholds={info.adaptiveLatency ? 'adaptive' : 'static'}>
            <LatencyThresholds info={info} />
          </dd>
        </>
      )}
      {Object.keys(info.labels).length > 0 && (
        <>
          <dt>Labels</dt>
          <dd>
            {Object.entries(info.labels)
              .map(([k, v]) => `${k}=${v}`)
              .join(', ')}
          </dd>
        </>
      )}
    </dl>
  );
}

/** Where an adaptive threshold came from, in words (hub/types.ts `CheckInfo.adaptiveLatency`). */
const SOURCE_TEXT: Readonly<Record<string, string>> = {
  config: 'set in the config',
  baseline: "from the served version's reviewed baseline",
  history: 'from its own recent passing probes',
  none: 'no basis yet',
};

/**
 * The latency thresholds in effect: each level's value, and for adaptive (`auto`) ones where it came
 * from and the quantile and sample count behind it.
 */
function LatencyThresholds({ info }: { info: CheckInfo }) {
  const adaptive = info.adaptiveLatency;
  const level = (name: string, ms: number | undefined, source: string | undefined) => (
    <span data-level={name} data-source={source ?? 'config'}>
      {name} {ms === undefined ? 'not set' : `at ${formatMs(ms)}`}
      {adaptive && source !== undefined && ` (${SOURCE_TEXT[source] ?? source})`}
    </span>
  );
  return (
    <>
      {level('degraded', info.degradedMs, adaptive?.source.degradedMs)};{' '}
      {level('failed', info.failedMs, adaptive?.source.failedMs)}
      {adaptive?.basisMs !== undefined && (
        <>
          ; basis {formatMs(adaptive.basisMs)}
          {adaptive.samples !== undefined && <> over {plural(adaptive.samples, 'duration')}</>}
        </>
      )}
      {adaptive && adaptive.basisMs === undefined && adaptive.samples !== undefined && (
        <>; {plural(adaptive.samples, 'duration')} so far</>
      )}
    </>
  );
}

const PHASES = [
  { key: 'transferMs', label: 'transfer', color: '#6d28d9' },
  { key: 'processingMs', label: 'processing', color: '#2563eb' },
  { key: 'tlsMs', label: 'tls', color: '#0891b2' },
  { key: 'connectMs', label: 'connect', color: '#059669' },
  { key: 'dnsMs', label: 'dns', color: '#ca8a04' },
] as const;
/** Cumulative sum up to phase i, counting from dns (the bottom of the stack). */
const ORDER_FROM_BOTTOM = ['dnsMs', 'connectMs', 'tlsMs', 'processingMs', 'transferMs'] as const;

/**
 * Phases stacked (each area is the sum up to that phase, drawn largest first so the smaller cover
 * it), the legend showing each phase's own value; thresholds as dashed lines.
 */
function LatencyChart({ results, info }: { results: ProbeResult[]; info: CheckInfo | undefined }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const raw = useRef<ProbeResult[]>([]);
  raw.current = results;

  const data = (): uPlot.AlignedData => {
    const xs = results.map((r) => r.startedAt / 1000);
    const cumulative = (upTo: string) => {
      const n = ORDER_FROM_BOTTOM.indexOf(upTo as (typeof ORDER_FROM_BOTTOM)[number]);
      return results.map((r) => {
        let sum = 0;
        for (let i = 0; i <= n; i++) sum += r.phases[ORDER_FROM_BOTTOM[i] as keyof ProbeResult['phases']];
        return sum;
      });
    };
    const line = (v: number | undefined) => results.map(() => v ?? null);
    return [xs, ...PHASES.map((p) => cumulative(p.key)), line(info?.degradedMs), line(info?.failedMs)];
  };

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const phaseValue = (key: string) => (_u: uPlot, _v: number | null, _s: number, idx: number | null) => {
      const r = idx === null ? undefined : raw.current[idx];
      return r ? formatMs(r.phases[key as keyof ProbeResult['phases']]) : '–';
    };
    const opts: uPlot.Options = {
      width: Math.max(300, el.clientWidth),
      height: 260,
      // The range follows the probes, not the thresholds: a 500 ms line must not flatten 3 ms probes.
      scales: {
        x: { time: true },
        y: {
          range: (u) => {
            let max = 1;
            for (const v of u.data[1] ?? []) if (v !== null && v !== undefined && v > max) max = v;
            return [0, max * 1.15];
          },
        },
      },
      axes: [{}, { label: 'ms', size: 60 }],
      series: [
        { label: 'time' },
        ...PHASES.map((p) => ({
          label: p.label,
          stroke: p.color,
          fill: `${p.color}cc`,
          width: 1,
          points: { show: false },
          value: phaseValue(p.key),
        })),
        { label: 'degraded at', stroke: '#b45309', dash: [6, 4], width: 2, points: { show: false } },
        { label: 'failed at', stroke: '#b91c1c', dash: [2, 3], width: 2, points: { show: false } },
      ],
    };
    plot.current = new uPlot(opts, data(), el);
    const resize = new ResizeObserver(() =>
      plot.current?.setSize({ width: Math.max(300, el.clientWidth), height: 260 }),
    );
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = undefined;
    };
  }, []);
  useEffect(() => {
    plot.current?.setData(data());
  }, [results, info]);

  const last = results[results.length - 1];
  let maxMs = 0;
  for (const r of results) maxMs = Math.max(maxMs, r.durationMs);
  const above = [
    info?.degradedMs !== undefined && info.degradedMs > maxMs * 1.15
      ? `degraded at ${formatMs(info.degradedMs)}`
      : '',
    info?.failedMs !== undefined && info.failedMs > maxMs * 1.15
      ? `failed at ${formatMs(info.failedMs)}`
      : '',
  ].filter((s) => s !== '');
  return (
    <figure class="chart">
      <div ref={box} />
      <figcaption>
        {results.length === 0
          ? 'No results yet.'
          : `${results.length} probes since ${formatTime(results[0]?.startedAt ?? 0)}; latest ${formatMs(last?.durationMs ?? 0)}, slowest ${formatMs(maxMs)}.`}
        {above.length > 0 && ` Thresholds above the chart: ${above.join(', ')}.`}
      </figcaption>
    </figure>
  );
}

function Timeline({ results }: { results: ProbeResult[] }) {
  if (results.length === 0) return <p>No results yet.</p>;
  const fails = results.filter((r) => r.outcome === 'fail').length;
  const degraded = results.filter((r) => r.outcome === 'degraded').length;
  return (
    <>
      <p>
        Last {results.length} probes: {results.length - fails - degraded} passed, {degraded} degraded, {fails}{' '}
        failed (oldest on the left).
      </p>
      <ol class="timeline">
        {results.map((r) => (
          <li
            key={`${r.startedAt}-${r.region}`}
            class={`outcome-${r.outcome}`}
            title={`${formatTime(r.startedAt)}: ${OUTCOME_META[r.outcome].label}, ${formatMs(r.durationMs)}`}
          >
            <span aria-hidden="true">{OUTCOME_META[r.outcome].icon}</span>
            <span class="visually-hidden">
              {formatTime(r.startedAt)} {OUTCOME_META[r.outcome].label}
            </span>
          </li>
        ))}
      </ol>
    </>
  );
}

/** A streamed answer's timings for the results table: `TTFT 41 ms · 97.3 tok/s · gap 12 ms · 16 tok`. */
function streamCell(stream: ProbeResult['stream']): string {
  if (stream === undefined) return '—';
  const ttft = stream.ttftMs === null ? 'no token' : `TTFT ${formatMs(stream.ttftMs)}`;
  const rate = stream.tokensPerSecond === null ? '' : ` · ${stream.tokensPerSecond.toFixed(1)} tok/s`;
  return `${ttft}${rate} · gap ${formatMs(stream.maxTokenGapMs)} · ${stream.tokens} tok`;
}

function ResultsTable({ results }: { results: ProbeResult[] }) {
  if (results.length === 0) return <p>No results yet.</p>;
  const streams = results.some((r) => r.stream !== undefined);
  return (
    <div class="scroll">
      <table class="results">
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Outcome</th>
            <th scope="col">Duration</th>
            <th scope="col">HTTP</th>
            {streams && <th scope="col">Stream</th>}
            <th scope="col">Reasons</th>
          </tr>
        </thead>
        <tbody>
          {results.map((r) => (
            <tr key={`${r.startedAt}-${r.region}`} class={`outcome-${r.outcome}`}>
              <td>
                <time dateTime={isoTime(r.startedAt)}>{formatTime(r.startedAt)}</time>
              </td>
              <td>
                <span class={`badge outcome-${r.outcome}`}>
                  <span aria-hidden="true">{OUTCOME_META[r.outcome].icon}</span>{' '}
                  {OUTCOME_META[r.outcome].label}
                </span>
              </td>
              <td>{formatMs(r.durationMs)}</td>
              <td>{r.httpStatus ?? '—'}</td>
              {streams && <td>{streamCell(r.stream)}</td>}
              <td>
                {r.failures.length === 0 && (r.notes === undefined || r.notes.length === 0) ? (
                  '—'
                ) : (
                  <ul class="reasons">
                    {r.failures.map((f, i) => (
                      <li key={i}>{f.message}</li>
                    ))}
                    {r.notes?.map((note, i) => (
                      <li key={`note-${i}`} class="note">
                        note: {note}
                      </li>
                    ))}
                  </ul>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function headersText(headers: Record<string, string>): string {
  return Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\n');
}

function Exchange({ exchange }: { exchange: ExchangeView }) {
  const { request, response, error } = exchange;
  return (
    <div class="exchange">
      <p>
        At <time dateTime={isoTime(exchange.at)}>{formatTime(exchange.at)}</time>. Secrets are redacted.
      </p>
      <h3>Request</h3>
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: it scrolls; a keyboard must reach it (axe scrollable-region-focusable) */}
      <pre tabIndex={0}>
        {`${request.method} ${request.url}\n${headersText(request.headers)}`}
        {request.body !== undefined && `\n\n${request.body}`}
      </pre>
      <h3>Response</h3>
      {response ? (
        <>
          {/* biome-ignore lint/a11y/noNoninteractiveTabindex: it scrolls; a keyboard must reach it (axe scrollable-region-focusable) */}
          <pre tabIndex={0}>
            {`HTTP ${response.status}\n${headersText(response.headers)}\n\n${response.body}`}
            {response.truncated && '\n… (cut at 64 KiB)'}
          </pre>
        </>
      ) : (
        <p>No response.</p>
      )}
      {error && (
        <p>
          Error <code>{error.code}</code>: {error.message}
        </p>
      )}
    </div>
  );
}

/** Drift statistics shown per statistic and output: the most recent runs' values. */
const DRIFT_RUNS = 10;
/** Comparisons listed at most (those beyond tolerance first). */
const COMPARISONS = 200;

const show = (v: unknown): string => {
  if (typeof v === 'number') return Number.isFinite(v) ? String(Number(v.toPrecision(6))) : String(v);
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
};

/**
 * A canary's last run compared with its version's baseline (case, output, baseline, now, difference,
 * bound, within), and its drift statistics over recent runs against their bounds. Reloaded when a new
 * result arrives (`version` changes).
 */
function CanaryPanel({ checkId, version }: { checkId: string; version: number }) {
  const [view, setView] = useState<CanaryView | undefined>();
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    let alive = true;
    getJson<CanaryView>(`api/v1/checks/${encodeURIComponent(checkId)}/canary`).then(
      (v) => alive && setView(v),
      (e: Error) => alive && setError(e.message),
    );
    return () => {
      alive = false;
    };
  }, [checkId, version]);
  const run = view?.lastRun;
  const verdict = run?.verdict;
  const comparisons = verdict
    ? [...verdict.comparisons].sort((a, b) => Number(a.within) - Number(b.within)).slice(0, COMPARISONS)
    : [];
  const series = new Map<string, { bound: number; points: Array<{ value: number; exceeded: boolean }> }>();
  for (const p of view?.history ?? []) {
    const key = `${p.statistic.toUpperCase()} ${p.output}`;
    const entry = series.get(key) ?? { bound: p.bound, points: [] };
    entry.bound = p.bound;
    entry.points.push({ value: p.value, exceeded: p.exceeded });
    series.set(key, entry);
  }
  return (
    <section aria-labelledby="canary-h">
      <h2 id="canary-h">Canary: comparison with the baseline</h2>
      {error && <p class="error">{error}</p>}
      {!run && !error && <p>No run yet.</p>}
      {run && (
        <p data-baseline-version={run.baseline?.modelVersion} data-baseline-status={run.baseline?.status}>
          Run {run.runIndex + 1} at {formatTime(run.at)}: {run.cases.sent.length} of {run.cases.total} cases,
          model version {run.modelVersion === '' ? '(none reported)' : run.modelVersion};{' '}
          {run.baseline
            ? `compared with the ${run.baseline.status} baseline of version ${run.baseline.modelVersion || '(none)'} recorded ${run.baseline.recordedAt}`
            : run.recording
              ? `no baseline: recording a provisional one (${run.recording.runs} of ${run.recording.of} runs)`
              : 'no baseline for this version'}
          {verdict && `: ${verdict.outcome}`}.
        </p>
      )}
      {comparisons.length > 0 && (
        <table class="results">
          <thead>
            <tr>
              <th scope="col">case</th>
              <th scope="col">output</th>
              <th scope="col">baseline</th>
              <th scope="col">now</th>
              <th scope="col">difference</th>
              <th scope="col">bound</th>
              <th scope="col">within</th>
            </tr>
          </thead>
          <tbody>
            {comparisons.map((c) => (
              <tr key={`${c.caseId} ${c.output} ${c.index}`}>
                <td>{c.caseId}</td>
                <td>
                  {c.output}[{c.index}]
                </td>
                <td>{show(c.baseline)}</td>
                <td>{show(c.now)}</td>
                <td>{c.difference === undefined ? '' : show(c.difference)}</td>
                <td>{c.bound === undefined ? '' : show(c.bound)}</td>
                <td>{c.within ? 'yes' : <strong>no</strong>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {series.size > 0 && (
        <>
          <h3>Drift statistics, last {DRIFT_RUNS} runs (oldest first)</h3>
          <table class="results">
            <thead>
              <tr>
                <th scope="col">statistic</th>
                <th scope="col">bound</th>
                <th scope="col">values</th>
              </tr>
            </thead>
            <tbody>
              {[...series].map(([key, s]) => (
                <tr key={key} data-drift-statistic={key}>
                  <td>{key}</td>
                  <td>{show(s.bound)}</td>
                  <td>
                    {s.points.slice(-DRIFT_RUNS).map((p, i) => (
                      <span key={i}>
                        {i > 0 && ' · '}
                        {p.exceeded ? <strong>{show(p.value)}</strong> : show(p.value)}
                      </span>
                    ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

/** The row in the worst state ({@link STATE_ORDER}); the first of equals; undefined for none. */
function worstRow(rows: readonly Row[]): Row | undefined {
  let worst: Row | undefined;
  for (const row of rows)
    if (worst === undefined || STATE_ORDER.indexOf(row.state) < STATE_ORDER.indexOf(worst.state)) worst = row;
  return worst;
}
