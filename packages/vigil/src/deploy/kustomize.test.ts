/**
 * deploy/: the kustomize tree rendered with the real `kubectl kustomize` (Debian package kubectl),
 * every rendered object validated against the Kubernetes OpenAPI schemas (kubernetes-models; the
 * Prometheus Operator's CRDs through @kubernetes-models/prometheus-operator), and what the manifests
 * promise checked on the objects; then every PromQL expression of the PrometheusRule and of the Grafana
 * dashboard parsed by promtool (Debian package prometheus) and its metric names (read with the
 * official PromQL grammar, @prometheus-io/lezer-promql) checked against what the hub exports. No
 * cluster, Prometheus server or Grafana runs here.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parser } from '@prometheus-io/lezer-promql';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parseConfig } from '../config/load.js';
import { createMetrics, METRIC_FAMILIES } from '../metrics/index.js';

const exec = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const requireAll = process.env.VIGIL_REQUIRE_ALL === '1';
const hasKubectl = spawnSync('kubectl', ['version', '--client']).error === undefined;
const hasPromtool = spawnSync('promtool', ['--version']).error === undefined;
if (!hasKubectl && !requireAll)
  console.warn('skipping the kustomize tests: kubectl is not on PATH (Debian package "kubectl")');
if (!hasPromtool && !requireAll)
  console.warn('skipping the PromQL checks: promtool is not on PATH (Debian package "prometheus")');

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}

/** The kubernetes-models class of an apiVersion/kind; an object of another kind fails the test. */
async function modelOf(apiVersion: string, kind: string): Promise<new (o: unknown) => { validate(): void }> {
  const path =
    apiVersion === 'monitoring.coreos.com/v1'
      ? `@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/${kind}`
      : `kubernetes-models/${apiVersion}/${kind}`;
  const module = (await import(path)) as Record<string, new (o: unknown) => { validate(): void }>;
  const model = module[kind];
  if (model === undefined) throw new Error(`no schema for ${apiVersion} ${kind}`);
  return model;
}

async function render(dir: string): Promise<K8sObject[]> {
  const { stdout } = await exec('kubectl', ['kustomize', join(ROOT, 'deploy/kustomize', dir)], {
    maxBuffer: 16 << 20,
  });
  return parseAllDocuments(stdout).map((doc) => doc.toJS() as K8sObject);
}

type Container = {
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  livenessProbe?: { httpGet?: { path: string } };
  readinessProbe?: { httpGet?: { path: string } };
  resources?: { requests?: object; limits?: object };
  securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean };
};
const podSpec = (o: K8sObject) =>
  (
    o.spec as {
      template: { spec: { containers: Container[]; securityContext?: { runAsNonRoot?: boolean } } };
    }
  ).template.spec;

describe.skipIf(!hasKubectl && !requireAll)('deploy/kustomize, rendered by kubectl kustomize', () => {
  const rendered: Record<string, K8sObject[]> = {};
  beforeAll(async () => {
    for (const dir of ['base', 'overlays/production', 'overlays/dev']) rendered[dir] = await render(dir);
  }, 180_000);

  it.each(['base', 'overlays/production', 'overlays/dev'])(
    'every object of %s validates against its Kubernetes OpenAPI schema',
    async (dir) => {
      const objects = rendered[dir] ?? [];
      expect(objects.length).toBeGreaterThan(8);
      for (const object of objects) {
        const Model = await modelOf(object.apiVersion, object.kind);
        expect(() => new Model(object).validate(), `${object.kind} ${object.metadata.name}`).not.toThrow();
      }
    },
  );

  it('the validation rejects a broken object (it is not a no-op)', async () => {
    const Model = await modelOf('apps/v1', 'Deployment');
    const hub = rendered['overlays/production']?.find((o) => o.kind === 'Deployment') as K8sObject;
    expect(() => new Model({ ...hub, spec: { ...hub.spec, replicas: 'two' } }).validate()).toThrow(
      /replicas/,
    );
  });

  it('production: 2 hubs with the PostgreSQL URL from a Secret, probes, resources and a locked-down securityContext', () => {
    const objects = rendered['overlays/production'] ?? [];
    const hub = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'vigil-hub') as K8sObject;
    expect(hub.spec?.replicas).toBe(2);
    const spec = podSpec(hub);
    const [container] = spec.containers;
    expect(container?.env?.find((e) => e.name === 'VIGIL_STORE')?.valueFrom?.secretKeyRef).toEqual({
      name: 'vigil-postgres',
      key: 'url',
    });
    expect(container?.livenessProbe?.httpGet?.path).toBe('/livez');
    expect(container?.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(container?.resources?.requests).toBeDefined();
    expect(container?.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    });
    expect(spec.securityContext?.runAsNonRoot).toBe(true);
    expect(
      objects.every(
        (o) => o.kind.startsWith('Cluster') || o.kind === 'Namespace' || o.metadata.namespace === 'vigil',
      ),
    ).toBe(true);
  });

  it('production: one agent Deployment per (region, shard), each region sharded 0..n-1, the token from a Secret', () => {
    const agents = (rendered['overlays/production'] ?? []).filter((o) =>
      o.metadata.name.startsWith('vigil-agent-'),
    );
    const shards = new Map<string, string[]>();
    for (const agent of agents) {
      expect(agent.kind).toBe('Deployment');
      expect(agent.spec?.replicas).toBe(1);
      const [container] = podSpec(agent).containers;
      const args = container?.args ?? [];
      expect(args.slice(0, 3)).toEqual(['agent', '--hub', 'http://vigil-hub.vigil.svc:7979']);
      const region = args[args.indexOf('--region') + 1] as string;
      shards.set(region, [...(shards.get(region) ?? []), args[args.indexOf('--shard') + 1] as string]);
      expect(container?.env?.find((e) => e.name === 'VIGIL_AGENT_TOKEN')?.valueFrom?.secretKeyRef).toEqual({
        name: `vigil-agent-${region}`,
        key: 'token',
      });
      expect(args.slice(-2)).toEqual(['--spool', '/var/lib/vigil/agent-spool.db']);
      expect(container?.securityContext?.readOnlyRootFilesystem).toBe(true);
    }
    // `vigil agent --shard i/n` is 1-based (h/agent's cli/agent.ts: 1 ≤ i ≤ n).
    expect(Object.fromEntries(shards)).toEqual({ 'eu-west': ['1/2', '2/2'], 'us-east': ['1/1'] });
    // The hub has each region's token for the config's agents.regions.<region>.token.
    const hub = (rendered['overlays/production'] ?? []).find(
      (o) => o.metadata.name === 'vigil-hub' && o.kind === 'Deployment',
    ) as K8sObject;
    const hubEnv = podSpec(hub).containers[0]?.env ?? [];
    for (const region of shards.keys())
      expect(
        hubEnv.find((e) => e.name === `VIGIL_AGENT_TOKEN_${region.toUpperCase().replace('-', '_')}`)
          ?.valueFrom?.secretKeyRef?.name,
      ).toBe(`vigil-agent-${region}`);
  });

  it('RBAC grants what discovery and the kubernetes action use', () => {
    const role = (rendered.base ?? []).find((o) => o.kind === 'ClusterRole') as unknown as {
      rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    };
    const can = (group: string, resource: string, verb: string) =>
      role.rules.some(
        (r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb),
      );
    for (const [group, resource, verb] of [
      ['', 'services', 'watch'],
      ['', 'pods', 'list'],
      ['serving.kserve.io', 'inferenceservices', 'watch'],
      ['apps', 'deployments', 'patch'],
      ['apps', 'statefulsets', 'patch'],
      ['', 'pods/eviction', 'create'],
      ['', 'pods', 'delete'],
    ] as const)
      expect(can(group, resource, verb), `${group}/${resource} ${verb}`).toBe(true);
  });

  it("the ConfigMap's vigil.yaml is a valid config", () => {
    const map = (rendered.base ?? []).find((o) => o.kind === 'ConfigMap') as K8sObject;
    const result = parseConfig(map.data?.['vigil.yaml'] ?? '', { baseDir: ROOT, env: {} });
    expect(result.ok ? [] : result.diagnostics).toEqual([]);
  });

  it('the PrometheusRule has one rule per condition, naming no target', () => {
    const rule = (rendered.base ?? []).find((o) => o.kind === 'PrometheusRule') as K8sObject;
    const rules = (rule.spec as { groups: { rules: { alert: string; expr: string }[] }[] }).groups.flatMap(
      (g) => g.rules,
    );
    expect(rules.map((r) => r.alert)).toEqual([
      'VigilHubDown',
      'VigilCheckUnhealthy',
      'VigilCheckDegraded',
      'VigilCheckFlapping',
      'VigilCheckStale',
      'VigilCheckNotProbing',
    ]);
    for (const r of rules) expect(r.expr).not.toMatch(/target\s*=/);
  });
});

// ---------------------------------------------------------------------------------------------
// PromQL: the rules and the dashboard

/** The metric names the hub exports: its per-check families, and whatever a hub's /metrics writes besides. */
async function exportedMetrics(): Promise<Set<string>> {
  const names = new Set<string>(['up']);
  for (const family of METRIC_FAMILIES) names.add(family.name);
  const text = await createMetrics().render();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name as string);
    if (type === 'histogram')
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(`${name}${suffix}`);
  }
  return names;
}

/** The metric names a PromQL expression selects (VectorSelector identifiers); throws on a syntax error. */
function metricNames(expr: string): string[] {
  const names: string[] = [];
  let error: number | undefined;
  parser.parse(expr).iterate({
    enter(node) {
      if (node.type.isError) error ??= node.from;
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector')
        names.push(expr.slice(node.from, node.to));
    },
  });
  if (error !== undefined) throw new Error(`PromQL syntax error at ${error}: ${expr}`);
  return names;
}

/** A Grafana expression as PromQL: its variables replaced by values of their kind. */
function fromGrafana(expr: string): string {
  return expr
    .replace(/^label_values\((.*),\s*\w+\)$/s, '$1')
    .replaceAll('$__rate_interval', '5m')
    .replaceAll('$__interval', '1m')
    .replace(/\$\{?\w+\}?/g, '.*');
}

const dashboard = JSON.parse(readFileSync(join(ROOT, 'deploy/grafana/vigil-dashboard.json'), 'utf8')) as {
  panels: { title: string; targets: { expr: string }[] }[];
  templating: { list: { name: string; query?: { query?: string } | string }[] };
};
const dashboardExprs = [
  ...dashboard.panels.flatMap((p) => p.targets.map((t) => [p.title, fromGrafana(t.expr)] as const)),
  ...dashboard.templating.list.flatMap((v) =>
    typeof v.query === 'object' && v.query.query !== undefined
      ? [[`$${v.name}`, fromGrafana(v.query.query)] as const]
      : [],
  ),
];
const ruleDoc = parseAllDocuments(
  readFileSync(join(ROOT, 'deploy/kustomize/base/prometheus-rule.yaml'), 'utf8'),
)[0]?.toJS() as {
  spec: { groups: { name: string; rules: { alert: string; expr: string }[] }[] };
};
const ruleExprs = ruleDoc.spec.groups.flatMap((g) => g.rules.map((r) => [r.alert, r.expr] as const));

describe('PromQL of the PrometheusRule and the Grafana dashboard', () => {
  it('names only metrics the hub exports', async () => {
    const exported = await exportedMetrics();
    expect(dashboard.panels.length).toBeGreaterThan(10);
    const seen = new Set<string>();
    for (const [where, expr] of [...ruleExprs, ...dashboardExprs])
      for (const name of metricNames(expr)) {
        seen.add(name);
        expect(exported.has(name), `${where}: ${name}`).toBe(true);
      }
    expect(seen.size).toBeGreaterThan(15);
  });

  it('the metric-name check catches a name the hub does not export', async () => {
    const exported = await exportedMetrics();
    expect(metricNames('rate(vigil_probes_totl[5m])').every((n) => exported.has(n))).toBe(false);
  });

  it.skipIf(!hasPromtool && !requireAll)(
    'every expression parses (promtool check rules), and the rules file passes',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'vigil-promql-'));
      const rules = join(dir, 'rules.yaml');
      writeFileSync(rules, JSON.stringify({ groups: ruleDoc.spec.groups }));
      const checked = await exec('promtool', ['check', 'rules', rules]);
      expect(checked.stdout).toMatch(/SUCCESS: 6 rules found/);
      // The dashboard's expressions as recording rules: promtool parses each.
      const recordings = join(dir, 'dashboard.yaml');
      writeFileSync(
        recordings,
        JSON.stringify({
          groups: [
            {
              name: 'dashboard',
              rules: dashboardExprs.map(([, expr], i) => ({ record: `dashboard:expr${i}`, expr })),
            },
          ],
        }),
      );
      const dash = await exec('promtool', ['check', 'rules', recordings]);
      expect(dash.stdout).toContain(`SUCCESS: ${dashboardExprs.length} rules found`);
      // The generic unhealthy rule, evaluated by promtool on series as a hub exports them.
      writeFileSync(
        join(dir, 'unhealthy.test.yaml'),
        readFileSync(fileURLToPath(new URL('fixtures/unhealthy-rule.test.yaml', import.meta.url))),
      );
      const unit = await exec('promtool', ['test', 'rules', join(dir, 'unhealthy.test.yaml')]);
      expect(unit.stdout).toContain('SUCCESS');
      // And a broken expression fails it: the check is not a no-op.
      const broken = join(dir, 'broken.yaml');
      writeFileSync(
        broken,
        JSON.stringify({ groups: [{ name: 'b', rules: [{ record: 'b:x', expr: 'sum by (x (up)' }] }] }),
      );
      await expect(exec('promtool', ['check', 'rules', broken])).rejects.toThrow();
    },
  );
});
