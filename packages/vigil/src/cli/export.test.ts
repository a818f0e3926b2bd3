/**
 * `vigil export prometheus-rules`, run as the real CLI. The generated rules are checked by Prometheus
 * itself: `promtool check rules` on every good config fixture, and `promtool test rules` with series
 * shaped like the hub's /metrics (metrics/metrics.ts) for each behaviour of the evaluator the rules
 * must mirror. Without promtool (Debian package `prometheus`) that part is skipped with the reason
 * printed, unless `VIGIL_REQUIRE_ALL=1` (then it fails).
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { RuleFile } from './export.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const ENTRY = fileURLToPath(new URL('./bin.ts', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../config/fixtures/', import.meta.url));
/** What the good fixtures interpolate. */
const FIXTURE_ENV = { API_KEY: 'k', TOKEN: 't', PW: 'pw' };

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `file args` in `cwd` (default the repository root) and collects its output. */
function exec(file: string, args: string[], env: Record<string, string> = {}, cwd = ROOT): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, env: { ...process.env, ...env } }, (error, stdout, stderr) =>
      resolve({ code: error ? (error.code as number) : 0, stdout, stderr }),
    );
  });
}

/** Runs the real CLI from source, as `vigil <args>`. */
const vigil = (args: string[], env: Record<string, string> = {}, cwd = ROOT) =>
  exec(process.execPath, ['--conditions=source', '--import', 'tsx', ENTRY, ...args], env, cwd);

/**
 * The config of the promtool scenarios: liveness with the defaults (3 / 1), readiness with its own
 * thresholds (5 / 2), integrity with a startup grace. The target's labels include one Vigil sets
 * itself (`severity`, left out) and one with template braces (kept literally). A canary with the
 * defaults (its six rules, then its drift and no-baseline rules).
 */
const CONFIG = `
region: eu-west
defaults: { interval: 10s, timeout: 2s, failureThreshold: 3, successThreshold: 1 }
targets:
  - name: credit-scorer
    url: http://127.0.0.1:8081
    protocol: oip-v2
    model: credit-scorer
    labels: { team: risk, severity: low, runbook: "https://wiki.example/{{ scorer }}" }
    checks:
      liveness: {}
      readiness: { failureThreshold: 5, successThreshold: 2 }
      integrity:
        interval: 30s
        startupGrace: 1m
        request: { inputs: [{ name: features, shape: [1, 2], datatype: FP32, data: [0.3, 0.1] }] }
      canary:
        cases:
          - { id: a, request: { inputs: [{ name: features, shape: [1, 2], datatype: FP32, data: [0.3, 0.1] }] } }
`;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-export-'));
  writeFileSync(join(dir, 'vigil.yaml'), CONFIG);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('vigil export prometheus-rules', () => {
  it('prints a rule file to stdout: a hub group, then six rules per check with its own threshold, two more per canary', async () => {
    const run = await vigil(['export', 'prometheus-rules', '-c', join(dir, 'vigil.yaml')]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^# Prometheus alerting rules for the Vigil checks in /);
    const file = parse(run.stdout) as RuleFile;
    expect(file.groups.map((g) => [g.name, g.rules.map((r) => r.alert)])).toEqual([
      ['vigil', ['VigilHubDown']],
      [
        'vigil/credit-scorer',
        [
          ...['liveness', 'readiness', 'integrity', 'canary'].flatMap(() => [
            'VigilCheckUnhealthy',
            'VigilCheckDegraded',
            'VigilCheckFlapping',
            'VigilCheckStale',
            'VigilCheckNotProbing',
            'VigilCheckNotProbing',
          ]),
          'VigilCanaryDrift',
          'VigilCanaryNoBaseline',
        ],
      ],
    ]);
    const rules = file.groups[1]?.rules ?? [];
    const sel = 'job="vigil",target="credit-scorer",check="readiness"';
    expect(rules[6]?.expr).toBe(
      [
        'max without (instance) (',
        '  (',
        `    vigil_check_consecutive_failures{${sel}} >= 5`,
        '  )',
        '  or',
        '  (',
        `    vigil_check_consecutive_failures{${sel}}`,
        `    and ignoring (state) vigil_check_state{${sel},state="unhealthy"} == 1`,
        '  )',
        ')',
      ].join('\n'),
    );
    expect(rules[0]?.expr).toContain(
      'vigil_check_consecutive_failures{job="vigil",target="credit-scorer",check="liveness"} >= 3\n',
    );
    expect(rules[12]?.expr).toContain(
      'unless ignoring (state) vigil_check_state{job="vigil",target="credit-scorer",check="integrity",state="pending"} == 1',
    );
    expect(rules[0]?.labels).toEqual({
      severity: 'critical',
      target: 'credit-scorer',
      check: 'liveness',
      model: 'credit-scorer',
      team: 'risk',
      runbook: 'https://wiki.example/{{ "{{" }} scorer }}',
    });
    // The not-probing window: max(5m, 3 × interval + initialDelay).
    expect(rules[16]?.expr).toContain('[5m]');
    // A check without any series, while a hub is up, for the same window.
    expect(rules[17]).toMatchObject({
      alert: 'VigilCheckNotProbing',
      expr: [
        'absent(vigil_probes_total{job="vigil",target="credit-scorer",check="integrity"})',
        'unless on () absent(up{job="vigil"} == 1)',
      ].join('\n'),
      for: '5m',
      labels: { severity: 'warning', target: 'credit-scorer', check: 'integrity', reason: 'absent' },
    });
    // The canary's drift: held for (degradedThreshold − 1) × interval = 2 × 10s.
    expect(rules[24]).toMatchObject({
      alert: 'VigilCanaryDrift',
      expr: 'max without (instance) (vigil_canary_condition{job="vigil",target="credit-scorer",check="canary",condition=~"drift|corrupt"} == 1)',
      for: '20s',
      labels: { severity: 'warning', check: 'canary' },
    });
    expect(rules[25]?.for).toBeUndefined();
  });

  it('uses --job in every selector', async () => {
    const run = await vigil([
      'export',
      'prometheus-rules',
      '-c',
      join(dir, 'vigil.yaml'),
      '--job',
      'vigil-eu',
    ]);
    expect(run.code).toBe(0);
    const file = parse(run.stdout) as RuleFile;
    const exprs = file.groups.flatMap((g) => g.rules.map((r) => r.expr));
    expect(exprs[0]).toBe('absent(up{job="vigil-eu"} == 1)');
    for (const expr of exprs) expect(expr).not.toContain('job="vigil"');
    expect(exprs.every((e) => e.includes('job="vigil-eu"'))).toBe(true);
  });

  it('writes -o FILE and says how many rules, canaries included', async () => {
    const out = join(dir, 'oip-v2.rules.yml');
    const config = join(FIXTURES, 'good', 'oip-v2.yaml');
    const run = await vigil(['export', 'prometheus-rules', '-c', config, '-o', out], FIXTURE_ENV);
    expect(run).toEqual({
      code: 0,
      stdout: `${out}: 27 alerting rules for 4 checks of ${config}\n`,
      stderr: '',
    });
    const file = parse(readFileSync(out, 'utf8')) as RuleFile;
    expect(file.groups.flatMap((g) => g.rules)).toHaveLength(27);
  });

  it('prints every diagnostic on its own line to stderr and exits 2 for an invalid config', async () => {
    const bad = join(FIXTURES, 'bad');
    const expected = readFileSync(join(bad, 'several-problems.expected.txt'), 'utf8');
    // From the fixture's folder: diagnostics name the file as given (`several-problems.yaml:1:28: …`).
    const run = await vigil(['export', 'prometheus-rules', '-c', 'several-problems.yaml'], {}, bad);
    expect(run).toEqual({ code: 2, stdout: '', stderr: expected });
  });

  it('exits 2 when the output file cannot be written', async () => {
    const out = join(dir, 'no-such-dir', 'rules.yml');
    const run = await vigil(['export', 'prometheus-rules', '-c', join(dir, 'vigil.yaml'), '-o', out]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(new RegExp(`^error: ${out}: cannot write the rules: ENOENT`));
  });

  it('exits 2 for an empty --job and for `export` without a format', async () => {
    const empty = await vigil(['export', 'prometheus-rules', '-c', join(dir, 'vigil.yaml'), '--job', '']);
    expect(empty).toEqual({ code: 2, stdout: '', stderr: 'error: --job must not be empty\n' });
    const bare = await vigil(['export']);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('prometheus-rules');
  });
});

// ---------------------------------------------------------------------------------------------
// promtool

const hasPromtool = spawnSync('promtool', ['--version']).error === undefined;
const requireAll = process.env.VIGIL_REQUIRE_ALL === '1';
if (!hasPromtool && !requireAll) {
  console.warn('skipping the promtool rule tests: promtool is not on PATH (Debian package "prometheus")');
}

type Check = 'liveness' | 'readiness' | 'integrity' | 'canary';

/**
 * A series as the hub exports it (metrics/metrics.ts, default level), scraped as job `vigil`. The
 * model is not on it (only on `vigil_target_info`): the alerts get it from the rule's labels.
 * `vigil_check_state` has one series per state entered, present (1) while in it, then `stale` (the
 * staleness marker Prometheus writes when a series leaves a scrape).
 */
function series(
  metric: string,
  check: Check,
  values: string,
  extra = '',
): { series: string; values: string } {
  return {
    series: `${metric}{job="vigil",instance="hub:7979",target="credit-scorer",check="${check}",region="eu-west"${extra}}`,
    values,
  };
}

/** The labels of a check alert: the series' but `instance`, then `severity` and the target's labels. */
function alertLabels(check: Check, severity: string, extra: Record<string, string> = {}) {
  return {
    severity,
    job: 'vigil',
    target: 'credit-scorer',
    check,
    region: 'eu-west',
    model: 'credit-scorer',
    team: 'risk',
    runbook: 'https://wiki.example/{{ scorer }}',
    ...extra,
  };
}

const unhealthy = (check: Check, value: number, failureThreshold: number, recovery: string, grace = '') => ({
  exp_labels: alertLabels(check, 'critical'),
  exp_annotations: {
    summary: `credit-scorer/${check} is unhealthy in eu-west`,
    description:
      `${value} consecutive failed probes. Vigil marks credit-scorer/${check} unhealthy after ` +
      `${failureThreshold} consecutive failed probes (failureThreshold) and healthy again after ${recovery} ` +
      `(successThreshold).${grace}`,
  },
});

interface AlertTest {
  eval_time: string;
  alertname: string;
  exp_alerts: unknown[];
}

interface Scenario {
  name: string;
  input_series: Array<{ series: string; values: string }>;
  alert_rule_test: AlertTest[];
}

const none = (eval_time: string, alertname = 'VigilCheckUnhealthy'): AlertTest => ({
  eval_time,
  alertname,
  exp_alerts: [],
});

/** One probe per 10 s scrape; the evaluator's gauges as the hub sets them after each probe. */
const SCENARIOS: Scenario[] = [
  {
    name: 'fires critical once 3 consecutive probes failed',
    input_series: [
      series('vigil_check_consecutive_failures', 'liveness', '0 1 2 3 3'),
      series('vigil_check_state', 'liveness', '_ 1 1 stale', ',state="pending"'),
      series('vigil_check_state', 'liveness', '_ _ _ 1 1', ',state="unhealthy"'),
    ],
    alert_rule_test: [
      none('20s'),
      {
        eval_time: '30s',
        alertname: 'VigilCheckUnhealthy',
        exp_alerts: [unhealthy('liveness', 3, 3, '1 passing probe')],
      },
    ],
  },
  {
    name: 'fires from the failure count alone, without the state gauge',
    input_series: [series('vigil_check_consecutive_failures', 'liveness', '0 1 2 3')],
    alert_rule_test: [
      {
        eval_time: '30s',
        alertname: 'VigilCheckUnhealthy',
        exp_alerts: [unhealthy('liveness', 3, 3, '1 passing probe')],
      },
    ],
  },
  {
    name: 'raises nothing for 2 failures then a pass',
    input_series: [
      series('vigil_check_consecutive_failures', 'liveness', '0 1 2 0 0'),
      series('vigil_check_state', 'liveness', '1 stale _ 1 1', ',state="healthy"'),
      series('vigil_check_state', 'liveness', '_ 1 1 stale', ',state="pending"'),
    ],
    alert_rule_test: [none('20s'), none('30s'), none('40s')],
  },
  {
    name: 'warns when degraded, without a state label',
    input_series: [
      series('vigil_check_state', 'integrity', '_ _ 1 1', ',state="degraded"'),
      series('vigil_check_consecutive_failures', 'integrity', '0 0 0 0'),
    ],
    alert_rule_test: [
      none('10s', 'VigilCheckDegraded'),
      {
        eval_time: '20s',
        alertname: 'VigilCheckDegraded',
        exp_alerts: [
          {
            exp_labels: alertLabels('integrity', 'warning'),
            exp_annotations: {
              summary: 'credit-scorer/integrity is degraded in eu-west',
              description:
                'Vigil marks credit-scorer/integrity degraded after 3 degraded probes (slow or drifting answers) ' +
                'without a pass in between (degradedThreshold = failureThreshold) and healthy again after 1 passing probe (successThreshold).',
            },
          },
        ],
      },
      none('20s'),
    ],
  },
  {
    name: "respects a check's own failureThreshold: readiness at 5 while liveness pages at 3",
    input_series: [
      series('vigil_check_consecutive_failures', 'liveness', '0 1 2 3 4 5'),
      series('vigil_check_consecutive_failures', 'readiness', '0 1 2 3 4 5'),
    ],
    alert_rule_test: [
      {
        eval_time: '40s',
        alertname: 'VigilCheckUnhealthy',
        exp_alerts: [unhealthy('liveness', 4, 3, '1 passing probe')],
      },
      {
        eval_time: '50s',
        alertname: 'VigilCheckUnhealthy',
        exp_alerts: [
          unhealthy('liveness', 5, 3, '1 passing probe'),
          unhealthy('readiness', 5, 5, '2 passing probes'),
        ],
      },
    ],
  },
  {
    name: 'keeps firing until successThreshold passes made the check healthy',
    input_series: [
      series('vigil_check_consecutive_failures', 'readiness', '0 1 2 3 4 5 0 0'),
      series('vigil_check_state', 'readiness', '_ _ _ _ _ 1 1 stale', ',state="unhealthy"'),
    ],
    alert_rule_test: [
      {
        eval_time: '60s',
        alertname: 'VigilCheckUnhealthy',
        exp_alerts: [unhealthy('readiness', 0, 5, '2 passing probes')],
      },
      none('70s'),
    ],
  },
  {
    name: 'holds back during the startup grace of a check that never passed',
    input_series: [
      series('vigil_check_consecutive_failures', 'integrity', '0 1 2 3 4 5 6 7'),
      series('vigil_check_state', 'integrity', '_ 1 1 1 1 1 1 stale', ',state="pending"'),
      series('vigil_check_state', 'integrity', '_ _ _ _ _ _ _ 1', ',state="unhealthy"'),
    ],
    alert_rule_test: [
      none('60s'),
      {
        eval_time: '70s',
        alertname: 'VigilCheckUnhealthy',
        exp_alerts: [
          unhealthy(
            'integrity',
            7,
            3,
            '1 passing probe',
            ' Until it first passes, it has a startup grace of 1m from its first probe.',
          ),
        ],
      },
    ],
  },
  {
    name: 'warns while the check flaps',
    input_series: [series('vigil_check_flapping', 'liveness', '_ 1 1 stale')],
    alert_rule_test: [
      {
        eval_time: '10s',
        alertname: 'VigilCheckFlapping',
        exp_alerts: [
          {
            exp_labels: alertLabels('liveness', 'warning'),
            exp_annotations: {
              summary: 'credit-scorer/liveness is flapping in eu-west',
              description:
                "credit-scorer/liveness changed state at least 6 times within 10m (Vigil's flap window: max(10m, 21 × interval 10s)).",
            },
          },
        ],
      },
      none('30s', 'VigilCheckFlapping'),
    ],
  },
  {
    name: 'warns while the check is stale, whatever state it was last known in',
    input_series: [
      series('vigil_check_state', 'readiness', '1 stale _ 1', ',state="healthy"'),
      series('vigil_check_state', 'readiness', '_ 1 1 stale', ',state="stale"'),
    ],
    alert_rule_test: [
      none('0s', 'VigilCheckStale'),
      {
        eval_time: '10s',
        alertname: 'VigilCheckStale',
        exp_alerts: [
          {
            exp_labels: alertLabels('readiness', 'warning'),
            exp_annotations: {
              summary: 'credit-scorer/readiness is stale in eu-west: its results stopped arriving',
              description:
                "The hub's watchdog saw no result of credit-scorer/readiness for 2 intervals (10s) plus the probe " +
                'timeouts of its target: its prober stopped delivering (a probe deferred by the probe budget or ' +
                'held for readiness is not stale).',
            },
          },
        ],
      },
      none('30s', 'VigilCheckStale'),
    ],
  },
  {
    name: 'warns when the hub stops probing a check for 5 minutes',
    input_series: [series('vigil_probes_total', 'liveness', '0+1x30 30x60')],
    alert_rule_test: [
      none('550s', 'VigilCheckNotProbing'),
      {
        eval_time: '650s',
        alertname: 'VigilCheckNotProbing',
        exp_alerts: [
          {
            exp_labels: alertLabels('liveness', 'warning', { instance: 'hub:7979' }),
            exp_annotations: {
              summary: 'Vigil has not probed credit-scorer/liveness for 5m in eu-west (hub:7979)',
              description:
                'The hub is scraped but ran no probe of credit-scorer/liveness (interval 10s) in 5m: its state and alerts are stale.',
            },
          },
        ],
      },
    ],
  },
  {
    name: 'does not warn of a check the probe budget defers, and warns again once the deferral ends',
    input_series: [
      series('vigil_probes_total', 'liveness', '0+1x30 30x90'),
      series('vigil_check_deferred', 'liveness', '_x30 1x60 stale'),
    ],
    alert_rule_test: [
      none('650s', 'VigilCheckNotProbing'),
      {
        eval_time: '1000s',
        alertname: 'VigilCheckNotProbing',
        exp_alerts: [
          {
            exp_labels: alertLabels('liveness', 'warning', { instance: 'hub:7979' }),
            exp_annotations: {
              summary: 'Vigil has not probed credit-scorer/liveness for 5m in eu-west (hub:7979)',
              description:
                'The hub is scraped but ran no probe of credit-scorer/liveness (interval 10s) in 5m: its state and alerts are stale.',
            },
          },
        ],
      },
    ],
  },
  {
    name: 'warns when a check has no series at all for its window while a hub is up',
    input_series: [
      { series: 'up{job="vigil",instance="hub:7979"}', values: '1x60' },
      // Liveness, readiness and the canary are probed; integrity never finished a probe, so it exports nothing.
      series('vigil_probes_total', 'liveness', '0+1x60'),
      series('vigil_probes_total', 'readiness', '0+1x60'),
      series('vigil_probes_total', 'canary', '0+1x60'),
    ],
    alert_rule_test: [
      none('290s', 'VigilCheckNotProbing'),
      {
        eval_time: '310s',
        alertname: 'VigilCheckNotProbing',
        exp_alerts: [
          {
            exp_labels: {
              severity: 'warning',
              job: 'vigil',
              target: 'credit-scorer',
              check: 'integrity',
              model: 'credit-scorer',
              team: 'risk',
              runbook: 'https://wiki.example/{{ scorer }}',
              reason: 'absent',
            },
            exp_annotations: {
              summary: 'Vigil has not probed credit-scorer/integrity for 5m: no hub exports it',
              description:
                'No Vigil hub of job "vigil" has exported a series of credit-scorer/integrity for 5m while one was up: ' +
                'its config lacks the check, or the check never finished a probe (interval 30s).',
            },
          },
        ],
      },
    ],
  },
  {
    name: 'does not warn of absent checks while no hub is up (VigilHubDown pages instead)',
    input_series: [{ series: 'up{job="vigil",instance="hub:7979"}', values: '0x60' }],
    alert_rule_test: [none('310s', 'VigilCheckNotProbing'), none('600s', 'VigilCheckNotProbing')],
  },
  {
    name: 'does not warn of a check whose first probe is scraped within its window',
    input_series: [
      { series: 'up{job="vigil",instance="hub:7979"}', values: '1x60' },
      series('vigil_probes_total', 'liveness', '0+1x60'),
      series('vigil_probes_total', 'readiness', '0+1x60'),
      series('vigil_probes_total', 'canary', '0+1x60'),
      // Added to the config two minutes in: no series until its first probe.
      series('vigil_probes_total', 'integrity', '_x12 1+1x48'),
    ],
    // Absent from the start, but for less than the rule's `for:` (5m) each time it is evaluated.
    alert_rule_test: [
      none('100s', 'VigilCheckNotProbing'),
      none('310s', 'VigilCheckNotProbing'),
      none('600s', 'VigilCheckNotProbing'),
    ],
  },
  {
    name: 'pages when no hub has been up for a minute',
    input_series: [{ series: 'up{job="vigil",instance="hub:7979"}', values: '1 1 0x12' }],
    alert_rule_test: [
      none('70s', 'VigilHubDown'),
      {
        eval_time: '90s',
        alertname: 'VigilHubDown',
        exp_alerts: [
          {
            exp_labels: { severity: 'critical', job: 'vigil' },
            exp_annotations: {
              summary: 'No Vigil hub is up (job "vigil")',
              description:
                'No up{job="vigil"} == 1 for 1m: Prometheus cannot scrape any Vigil hub (down, or not a scrape target), so no check alert can fire.',
            },
          },
        ],
      },
    ],
  },
  {
    name: 'warns of canary drift once 3 consecutive runs found it, with the condition',
    input_series: [
      series('vigil_canary_condition', 'canary', '_ 1 1 1 1', ',condition="drift"'),
      series('vigil_check_state', 'canary', '1 1 1 1 1', ',state="degraded"'),
    ],
    alert_rule_test: [
      none('20s', 'VigilCanaryDrift'),
      {
        eval_time: '30s',
        alertname: 'VigilCanaryDrift',
        exp_alerts: [
          {
            exp_labels: alertLabels('canary', 'warning', { condition: 'drift' }),
            exp_annotations: {
              summary:
                "credit-scorer/canary: the model's answers drifted from its baseline in eu-west (drift)",
              description:
                'Condition drift: the answers differ from the baseline of the model version served beyond tolerance ' +
                '(drift) or are corrupt (corrupt), in 3 consecutive runs (one every 10s). The check page lists each ' +
                'case and output, baseline against now, and the drift statistics.',
            },
          },
        ],
      },
      none('30s', 'VigilCanaryNoBaseline'),
    ],
  },
  {
    name: 'raises no drift alert for 2 drifting canary runs then a passing one',
    input_series: [series('vigil_canary_condition', 'canary', '_ 1 1 stale _ _', ',condition="corrupt"')],
    alert_rule_test: [none('30s', 'VigilCanaryDrift'), none('50s', 'VigilCanaryDrift')],
  },
  {
    name: 'warns at once when the version served has no baseline',
    input_series: [series('vigil_canary_condition', 'canary', '_ 1 1', ',condition="no_baseline"')],
    alert_rule_test: [
      none('0s', 'VigilCanaryNoBaseline'),
      {
        eval_time: '10s',
        alertname: 'VigilCanaryNoBaseline',
        exp_alerts: [
          {
            exp_labels: alertLabels('canary', 'warning'),
            exp_annotations: {
              summary: 'credit-scorer/canary: no baseline for the model version served in eu-west',
              description:
                'The model serves a version credit-scorer/canary has no baseline for, so the canary compares ' +
                'nothing: record one (vigil baseline record), or promote the provisional one autoBaseline recorded ' +
                '(vigil baseline promote).',
            },
          },
        ],
      },
      none('10s', 'VigilCanaryDrift'),
    ],
  },
  {
    name: 'pages when Prometheus does not scrape the hub at all',
    input_series: [{ series: 'up{job="other",instance="x:1"}', values: '1x12' }],
    alert_rule_test: [
      {
        eval_time: '70s',
        alertname: 'VigilHubDown',
        exp_alerts: [
          {
            exp_labels: { severity: 'critical', job: 'vigil' },
            exp_annotations: {
              summary: 'No Vigil hub is up (job "vigil")',
              description:
                'No up{job="vigil"} == 1 for 1m: Prometheus cannot scrape any Vigil hub (down, or not a scrape target), so no check alert can fire.',
            },
          },
        ],
      },
    ],
  },
];

describe.skipIf(!hasPromtool && !requireAll)('vigil export prometheus-rules, checked by promtool', () => {
  const goodFixtures = ['http', 'kserve-v1', 'oip-v2', 'ollama', 'openai', 'tfserving', 'torchserve'];

  it.each(goodFixtures)('passes promtool check rules for the %s fixture', async (name) => {
    const out = join(dir, `${name}.rules.yml`);
    const run = await vigil(
      ['export', 'prometheus-rules', '-c', join(FIXTURES, 'good', `${name}.yaml`), '-o', out],
      FIXTURE_ENV,
    );
    expect(run.code).toBe(0);
    const rules = (parse(readFileSync(out, 'utf8')) as RuleFile).groups.flatMap((g) => g.rules).length;
    const check = await exec('promtool', ['check', 'rules', out]);
    expect(check.stdout + check.stderr).toContain(`SUCCESS: ${rules} rules found`);
    expect(check.code).toBe(0);
  });

  describe('promtool test rules', () => {
    beforeAll(async () => {
      const run = await vigil([
        'export',
        'prometheus-rules',
        '-c',
        join(dir, 'vigil.yaml'),
        '-o',
        join(dir, 'rules.yml'),
      ]);
      expect(run.code).toBe(0);
    });

    it.each(SCENARIOS)('$name', async (scenario) => {
      const file = join(dir, 'rules.test.yml');
      writeFileSync(
        file,
        stringify({
          rule_files: ['rules.yml'],
          evaluation_interval: '10s',
          tests: [{ interval: '10s', ...scenario }],
        }),
      );
      const test = await exec('promtool', ['test', 'rules', file]);
      expect(test.stdout + test.stderr).toContain('SUCCESS');
      expect(test.code).toBe(0);
    });
  });
});
