/**
 * A minimal writer of the Prometheus text exposition format (version 0.0.4) and of OpenMetrics 1.0 for
 * Vigil's per-check metric families, whose label strings are built once per series rather than at
 * every scrape. See https://prometheus.io/docs/instrumenting/exposition_formats/ and
 * https://github.com/prometheus/OpenMetrics/blob/main/specification/OpenMetrics.md.
 *
 * The two formats' samples are the same text; they differ in what frames them: OpenMetrics names a
 * counter family without its `_total` (the samples keep it), allows no blank line, and ends with
 * `# EOF`.
 */

/** Escapes a label value: backslash, double quote and line feed. */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

/**
 * `name="value"` pairs joined by commas, values escaped; `''` for no labels. One flat string (a
 * join, not `+=`, which would keep a tree of a dozen string pieces alive for as long as the labels).
 */
export function formatLabels(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels)
    .map(([name, value]) => `${name}="${escapeLabelValue(value)}"`)
    .join(',');
}

/** A sample value as the format spells it: `NaN`, `+Inf`, `-Inf`, or the shortest round-tripping decimal. */
export function formatValue(value: number): string {
  if (Number.isFinite(value)) return String(value);
  if (Number.isNaN(value)) return 'NaN';
  return value > 0 ? '+Inf' : '-Inf';
}

/** Escapes a HELP text: backslash and line feed. */
function escapeHelp(help: string): string {
  return help.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'));
}

/** Which text format a scrape asked for (`Accept`): Prometheus' 0.0.4, or OpenMetrics 1.0. */
export type ExpositionFormat = 'prometheus' | 'openmetrics';

/** The `Content-Type` of each format, as prom-client and Prometheus spell them. */
export const EXPOSITION_CONTENT_TYPES: Readonly<Record<ExpositionFormat, string>> = {
  prometheus: 'text/plain; version=0.0.4; charset=utf-8',
  openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
};

/** OpenMetrics' name of a counter family: without the `_total` its samples carry. */
const counterFamilyName = (name: string): string => (name.endsWith('_total') ? name.slice(0, -6) : name);

/**
 * The `# HELP` and `# TYPE` lines of a family; in OpenMetrics a counter's family name drops `_total`
 * (its samples keep it: every counter Vigil writes is named with it).
 */
export function familyHeader(
  name: string,
  help: string,
  type: 'gauge' | 'counter' | 'histogram',
  format: ExpositionFormat = 'prometheus',
): string {
  const family = format === 'openmetrics' && type === 'counter' ? counterFamilyName(name) : name;
  return `# HELP ${family} ${escapeHelp(help)}\n# TYPE ${family} ${type}\n`;
}

/**
 * prom-client's Prometheus-format text (its registry: process metrics, the lag histogram, the action
 * counter) as OpenMetrics, without the closing `# EOF`: blank lines dropped, and a counter family's
 * name in its `# HELP`/`# TYPE` lines without `_total`; a counter sample without `_total` gets it.
 * prom-client can render OpenMetrics itself, but only as a registry-wide setting that also renames
 * its counter objects in place, so one registry cannot answer both formats.
 */
export function registryTextToOpenMetrics(text: string): string {
  const counters = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) counter$/gm)) counters.add(m[1] as string);
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+)( .*)?$/.exec(line);
    if (meta !== null) {
      const name = meta[2] as string;
      out.push(counters.has(name) ? `# ${meta[1]} ${counterFamilyName(name)}${meta[3] ?? ''}` : line);
      continue;
    }
    const end = line.search(/[{ ]/);
    const name = line.slice(0, end);
    out.push(counters.has(name) && !name.endsWith('_total') ? `${name}_total${line.slice(end)}` : line);
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}
