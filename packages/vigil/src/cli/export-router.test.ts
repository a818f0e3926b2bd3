/**
 * `vigil export prometheus-rules` for a config with a router: the traffic checks' rules (from the
 * hub's series with `check="traffic"`) and each router's rules (from its admin `/metrics`), written
 * by the real CLI and checked by Prometheus itself (`promtool check rules`, `promtool test rules`
 * with series shaped like the hub's and the router's expositions: metrics/metrics.ts,
 * router/metrics.ts).
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { describeWith } from '../fixtures/needs.js';
import type { RuleFile } from './export.js';

const ENTRY = fileURLToPath(new URL('./bin.ts', import.meta.url));

/** Runs `file args` and collects its output. */
function exec(
  file: string,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, (error, stdout, stderr) =>
      resolve({ code: error ? (error.code as number) : 0, stdout, stderr }),
    );
  });
}

/** A primary and a secondary behind router `credit`, which has a fallback; the traffic defaults (2 / 2, 250 ms). */
const CONFIG = `
region: eu-west
defaults: { interval: 10s, timeout: 2s }
targets:
  - name: credit-scorer
    url: http://127.0.0.1:8081
    protocol: oip-v2
    model: credit-scorer
    checks: { liveness: {} }
  - name: credit-scorer-b
    url: http://127.0.0.1:8083
    protocol: oip-v2
    model: credit-scorer
    checks: { liveness: {} }
routers:
  - name: credit
    listen: 127.0.0.1:8090
    primary: credit-scorer
    secondaries: [credit-scorer-b]
    fallback: { status: 200, body: { label: review } }
    policy: { deadline: 200ms }
`;

let dir: string;
let file: RuleFile;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-export-router-'));
  writeFileSync(join(dir, 'vigil.yaml'), CONFIG);
  const run = await exec(process.execPath, [
    '--conditions=source',
    '--import',
    'tsx',
    ENTRY,
    'export',
    'prometheus-rules',
    '-c',
    join(dir, 'vigil.yaml'),
    '-o',
    join(dir, 'rules.yml'),
  ]);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  // 1 + (6 liveness + 3 traffic) × 2 targets + 1 + 3 router rules
  expect(run.stdout).toBe(
    `${join(dir, 'rules.yml')}: 23 alerting rules for 4 checks of ${join(dir, 'vigil.yaml')}\n`,
  );
  file = parse(readFileSync(join(dir, 'rules.yml'), 'utf8')) as RuleFile;
}, 180_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('vigil export prometheus-rules with routers', () => {
  it('gives each traffic check unhealthy, degraded and flapping (no stale, no not-probing) and each router its own group', () => {
    const probed = [
      'VigilCheckUnhealthy',
      'VigilCheckDegraded',
      'VigilCheckFlapping',
      'VigilCheckStale',
      'VigilCheckNotProbing',
      'VigilCheckNotProbing',
    ];
    const traffic = ['VigilCheckUnhealthy', 'VigilCheckDegraded', 'VigilCheckFlapping'];
    expect(file.groups.map((g) => [g.name, g.rules.map((r) => r.alert)])).toEqual([
      ['vigil', ['VigilHubDown']],
      ['vigil/credit-scorer', [...probed, ...traffic]],
      ['vigil/credit-scorer-b', [...probed, ...traffic]],
      ['vigil-router', ['VigilRouterDown']],
      ['vigil-router/credit', ['VigilRouterFailover', 'VigilRouterEjection', 'VigilRouterDeadlineMissed']],
    ]);
    const unhealthy = file.groups[1]?.rules[6];
    expect(unhealthy?.expr).toContain(
      'vigil_check_consecutive_failures{job="vigil",target="credit-scorer",check="traffic"} >= 2',
    );
    expect(unhealthy?.labels).toEqual({
      severity: 'critical',
      target: 'credit-scorer',
      check: 'traffic',
      model: 'credit-scorer',
      router: 'credit',
    });
    expect(file.groups[4]?.rules[0]?.expr).toBe(
      'max without (instance) (vigil_router_primary_share{job="vigil-router",router="credit",upstream="credit-scorer"} < 1)',
    );
  });

  it('uses --router-job in every router selector', async () => {
    const run = await exec(process.execPath, [
      '--conditions=source',
      '--import',
      'tsx',
      ENTRY,
      'export',
      'prometheus-rules',
      '-c',
      join(dir, 'vigil.yaml'),
      '--router-job',
      'edge-routers',
    ]);
    expect(run.code).toBe(0);
    const groups = (parse(run.stdout) as RuleFile).groups.filter((g) => g.name.startsWith('vigil-router'));
    const exprs = groups.flatMap((g) => g.rules.map((r) => r.expr));
    expect(exprs).toHaveLength(4);
    for (const expr of exprs) expect(expr).toContain('job="edge-routers"');
  }, 120_000);
});

// ---------------------------------------------------------------------------------------------
// promtool

const hasPromtool = spawnSync('promtool', ['--version']).error === undefined;

const traffic = (metric: string, values: string, extra = '') => ({
  series: `${metric}{job="vigil",instance="hub:7979",target="credit-scorer",check="traffic",region="eu-west"${extra}}`,
  values,
});
const router = (metric: string, values: string, extra = '') => ({
  series: `${metric}{job="vigil-router",instance="router:7980",router="credit"${extra}}`,
  values,
});
const none = (eval_time: string, alertname: string) => ({ eval_time, alertname, exp_alerts: [] });

const trafficLabels = (severity: string) => ({
  severity,
  job: 'vigil',
  target: 'credit-scorer',
  check: 'traffic',
  region: 'eu-west',
  model: 'credit-scorer',
  router: 'credit',
});

/** One scrape every 10 s; the hub's traffic check gets a report every 250 ms, the gauges show the last. */
const SCENARIOS = [
  {
    name: 'pages once two traffic reports in a row failed, and keeps paging until the check is healthy',
    input_series: [
      traffic('vigil_check_consecutive_failures', '0 1 2 3 0 0 0'),
      traffic('vigil_check_state', '_ _ 1 1 1 stale', ',state="unhealthy"'),
    ],
    alert_rule_test: [
      none('10s', 'VigilCheckUnhealthy'),
      {
        eval_time: '20s',
        alertname: 'VigilCheckUnhealthy',
        exp_alerts: [
          {
            exp_labels: trafficLabels('critical'),
            exp_annotations: {
              summary: 'credit-scorer/traffic:credit is unhealthy in eu-west: real traffic fails',
              description:
                '2 failing traffic reports in a row (each sums up 250ms of requests through router credit; a report ' +
                'fails on upstream failures, 5xx, timeouts and resets, or an ejection). Vigil marks ' +
                'credit-scorer/traffic:credit unhealthy after 2 failing reports (traffic.failureThreshold) and ' +
                'healthy again after 2 passing reports (traffic.successThreshold).',
            },
          },
        ],
      },
      // A pass, but not yet the two that heal it: still unhealthy.
      {
        eval_time: '40s',
        alertname: 'VigilCheckUnhealthy',
        exp_alerts: [
          {
            exp_labels: trafficLabels('critical'),
            exp_annotations: {
              summary: 'credit-scorer/traffic:credit is unhealthy in eu-west: real traffic fails',
              description:
                '0 failing traffic reports in a row (each sums up 250ms of requests through router credit; a report ' +
                'fails on upstream failures, 5xx, timeouts and resets, or an ejection). Vigil marks ' +
                'credit-scorer/traffic:credit unhealthy after 2 failing reports (traffic.failureThreshold) and ' +
                'healthy again after 2 passing reports (traffic.successThreshold).',
            },
          },
        ],
      },
      none('50s', 'VigilCheckUnhealthy'),
    ],
  },
  {
    name: 'warns while real traffic is slow (degraded)',
    input_series: [traffic('vigil_check_state', '_ 1 1 stale', ',state="degraded"')],
    alert_rule_test: [
      {
        eval_time: '10s',
        alertname: 'VigilCheckDegraded',
        exp_alerts: [
          {
            exp_labels: trafficLabels('warning'),
            exp_annotations: {
              summary: 'credit-scorer/traffic:credit is degraded in eu-west: real traffic is slow',
              description:
                "Vigil marks credit-scorer/traffic:credit degraded after 2 reports whose p95 reached the router's " +
                'failoverAt (each sums up 250ms of requests through router credit) without a pass in between, and ' +
                'healthy again after 2 passing reports (traffic.successThreshold).',
            },
          },
        ],
      },
      none('30s', 'VigilCheckDegraded'),
    ],
  },
  {
    name: 'does not warn of a traffic check without series (a router without traffic reports nothing)',
    input_series: [
      { series: 'up{job="vigil",instance="hub:7979"}', values: '1x60' },
      {
        series:
          'vigil_probes_total{job="vigil",instance="hub:7979",target="credit-scorer",check="liveness",region="eu-west"}',
        values: '0+1x60',
      },
      {
        series:
          'vigil_probes_total{job="vigil",instance="hub:7979",target="credit-scorer-b",check="liveness",region="eu-west"}',
        values: '0+1x60',
      },
    ],
    alert_rule_test: [none('310s', 'VigilCheckNotProbing'), none('600s', 'VigilCheckNotProbing')],
  },
  {
    name: 'warns while the router keeps traffic off its primary, through its return steps',
    input_series: [
      router('vigil_router_primary_share', '1 1 0 0 0.25 1 1', ',upstream="credit-scorer"'),
      // A secondary's share series does not exist; the primary's label is in the rule.
      router('vigil_router_upstream_available', '1 1 1 1 1 1 1', ',upstream="credit-scorer-b"'),
    ],
    alert_rule_test: [
      none('10s', 'VigilRouterFailover'),
      ...[
        ['20s', '0%'],
        ['40s', '25%'],
      ].map(([at, share]) => ({
        eval_time: at as string,
        alertname: 'VigilRouterFailover',
        exp_alerts: [
          {
            exp_labels: {
              severity: 'warning',
              job: 'vigil-router',
              router: 'credit',
              upstream: 'credit-scorer',
            },
            exp_annotations: {
              summary: 'Router credit moved traffic off its primary credit-scorer',
              description:
                `credit-scorer gets ${share} of router credit's new traffic (0 while demoted, a return step on its way ` +
                'back): drained, ejected, unhealthy or degraded by the hub, or its p95 over 10s reached failoverAt ' +
                "180ms. The router's log has the decision and its reason.",
            },
          },
        ],
      })),
      none('50s', 'VigilRouterFailover'),
    ],
  },
  {
    name: 'warns of an ejection for five minutes after it',
    input_series: [
      router('vigil_router_ejections_total', '0 0 1x40', ',upstream="credit-scorer"'),
      router('vigil_router_ejections_total', '0x42', ',upstream="credit-scorer-b"'),
    ],
    alert_rule_test: [
      none('10s', 'VigilRouterEjection'),
      {
        eval_time: '30s',
        alertname: 'VigilRouterEjection',
        exp_alerts: [
          {
            exp_labels: {
              severity: 'warning',
              job: 'vigil-router',
              router: 'credit',
              upstream: 'credit-scorer',
            },
            exp_annotations: {
              summary: 'Router credit ejected credit-scorer in the last 5m',
              description:
                "Router credit took credit-scorer out of service after 5 upstream failures in a row (5xx, timeouts, resets; never a client's 4xx), for 30s × the ejections in a row.",
            },
          },
        ],
      },
      none('400s', 'VigilRouterEjection'),
    ],
  },
  {
    name: 'warns when requests missed the deadline (the fallback answered them)',
    input_series: [router('vigil_router_deadline_misses_total', '0 0 3 3 3')],
    alert_rule_test: [
      none('10s', 'VigilRouterDeadlineMissed'),
      {
        eval_time: '20s',
        alertname: 'VigilRouterDeadlineMissed',
        exp_alerts: [
          {
            exp_labels: { severity: 'warning', job: 'vigil-router', router: 'credit' },
            exp_annotations: {
              summary: 'Router credit: requests missed the 200ms deadline in the last 5m',
              description:
                'No upstream of router credit answered some requests within the deadline (200ms); the fallback answered them.',
            },
          },
        ],
      },
    ],
  },
  {
    name: 'pages when no router has been up for a minute',
    input_series: [{ series: 'up{job="vigil-router",instance="router:7980"}', values: '1 1 0x12' }],
    alert_rule_test: [
      none('70s', 'VigilRouterDown'),
      {
        eval_time: '90s',
        alertname: 'VigilRouterDown',
        exp_alerts: [
          {
            exp_labels: { severity: 'critical', job: 'vigil-router' },
            exp_annotations: {
              summary: 'No Vigil router is up (job "vigil-router")',
              description:
                'No up{job="vigil-router"} == 1 for 1m: Prometheus cannot scrape any router\'s admin /metrics (down, or not a scrape target); while it lasts its callers may get no answers and no router alert can fire.',
            },
          },
        ],
      },
    ],
  },
];

describeWith(hasPromtool, 'promtool (Debian package prometheus)', 'router rules, checked by promtool', () => {
  it('passes promtool check rules', async () => {
    const rules = file.groups.flatMap((g) => g.rules).length;
    const check = await exec('promtool', ['check', 'rules', join(dir, 'rules.yml')]);
    expect(check.stdout + check.stderr).toContain(`SUCCESS: ${rules} rules found`);
    expect(check.code).toBe(0);
  });

  it.each(SCENARIOS)('$name', async (scenario) => {
    const test = join(dir, `${scenario.name.slice(0, 20).replaceAll(/\W/g, '-')}.test.yml`);
    writeFileSync(
      test,
      stringify({
        rule_files: ['rules.yml'],
        evaluation_interval: '10s',
        tests: [{ interval: '10s', ...scenario }],
      }),
    );
    const run = await exec('promtool', ['test', 'rules', test]);
    expect(run.stdout + run.stderr).toContain('SUCCESS');
    expect(run.code).toBe(0);
  });
});
