/**
 * A minimal writer of the Prometheus text exposition format (version 0.0.4) for Vigil's per-check
 * metric families, whose label strings are built once per series rather than at every scrape.
 * See https://prometheus.io/docs/instrumenting/exposition_formats/.
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

/** The `# HELP` and `# TYPE` lines of a family. */
export function familyHeader(name: string, help: string, type: 'gauge' | 'counter'): string {
  return `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
}
