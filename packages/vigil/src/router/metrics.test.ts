/**
 * METRICS.md, "The router's series", against the router's exposition: the table lists exactly the
 * families `/metrics` on the admin port writes (name, type, labels), and every router family the
 * exported alerting rules read is one of them.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildPrometheusRules } from '../cli/export.js';
import { createRouterMetrics } from './metrics.js';

const DOC = readFileSync(fileURLToPath(new URL('../../METRICS.md', import.meta.url)), 'utf8');

/** The table under "## The router's series": name, type, labels. */
function documented(): Array<{ name: string; type: string; labels: string[] }> {
  const section = DOC.split(/^## /m).find((s) => s.startsWith("The router's series\n"));
  if (section === undefined) throw new Error('METRICS.md has no "## The router\'s series"');
  return section
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .slice(2)
    .map((line) => {
      const [name = '', type = '', labels = ''] = line
        .slice(1, -1)
        .split('|')
        .map((cell) => cell.trim().replaceAll('`', ''));
      return { name, type, labels: labels.split(',').map((l) => l.trim()) };
    });
}

/** Every router family populated, as a running router would populate them. */
async function exposition(): Promise<string> {
  const metrics = createRouterMetrics({ defaultMetrics: false });
  metrics.init('r', ['a', 'b']);
  metrics.request('r', 'primary', 200, 0.01);
  metrics.attempt('r', 'a', 'success', 0.01);
  metrics.ejection('r', 'a');
  metrics.hedge('r', 'b');
  metrics.fallback('r', 'deadline');
  metrics.deadlineMiss('r');
  metrics.failover('r', 'a');
  metrics.primaryShare('r', 'a', 1);
  metrics.available('r', 'a', true);
  return metrics.render();
}

describe("METRICS.md, the router's series", () => {
  it('lists exactly the families the router writes, with their types and labels', async () => {
    const text = await exposition();
    const written = new Map<string, { type: string; labels: Set<string> }>();
    for (const line of text.split('\n')) {
      const type = /^# TYPE (\S+) (\S+)$/.exec(line);
      if (type) written.set(type[1] as string, { type: type[2] as string, labels: new Set() });
      if (line === '' || line.startsWith('#')) continue;
      const name = line.slice(0, line.search(/[{ ]/)).replace(/_(bucket|sum|count)$/, '');
      const family = written.get(name);
      if (family === undefined) throw new Error(`a sample outside any family: ${line}`);
      for (const m of line.matchAll(/[{,]([a-zA-Z_]\w*)="/g))
        if (m[1] !== 'le') family.labels.add(m[1] as string);
    }
    expect([...written].map(([name, f]) => ({ name, type: f.type, labels: [...f.labels].sort() }))).toEqual(
      documented().map((d) => ({ ...d, labels: [...d.labels].sort() })),
    );
  });

  it('has every router family the exported rules read', () => {
    const file = buildPrometheusRules([], {
      routers: [
        {
          name: 'r',
          primary: 'a',
          deadline: '200ms',
          failoverAtMs: 180,
          window: '10s',
          consecutive5xx: 5,
          baseEjection: '30s',
          hasFallback: true,
        },
      ],
    });
    const read = file.groups
      .filter((g) => g.name.startsWith('vigil-router/'))
      .flatMap((g) =>
        g.rules.flatMap((r) => [...r.expr.matchAll(/\b(vigil_router_\w+)\{/g)].map((m) => m[1])),
      );
    expect(read.length).toBe(3);
    const names = new Set(documented().map((d) => d.name));
    for (const name of read) expect(names, name).toContain(name);
  });
});
