import { describe, expect, it } from 'vitest';
import { alertsFromTransition } from './alerts.js';
import { plan, transition } from './fixtures/support.js';
import { PAGERDUTY_EVENTS_URL } from './notifiers/pagerduty.js';
import { type AlertingConfigInput, parseAlertingConfig, type RouteConfig, routeAlert } from './routing.js';
import type { Alert } from './types.js';

const notifiers = {
  pagerduty: { type: 'pagerduty', routingKey: 'k' },
  slack: { type: 'slack', webhookUrl: 'https://hooks.slack.com/services/T0/B0/x' },
  audit: { type: 'webhook', url: 'https://audit.example.com/hook' },
} satisfies AlertingConfigInput['notifiers'];

function parse(input: AlertingConfigInput) {
  const result = parseAlertingConfig(input);
  if (!result.ok) throw new Error(result.diagnostics.join('\n'));
  return result.config;
}

function diagnostics(input: unknown): string[] {
  const result = parseAlertingConfig(input);
  return result.ok ? [] : result.diagnostics;
}

describe('alertingSchema', () => {
  it("fills in Alertmanager's grouping defaults and the switches", () => {
    const config = parse({ routes: [{ match: { severity: 'critical' }, notify: ['pagerduty'] }], notifiers });
    expect(config).toMatchObject({
      routes: [
        {
          match: { severity: ['critical'] },
          notify: ['pagerduty'],
          group_by: ['alertname', 'target'],
          group_wait: '30s',
          group_interval: '5m',
          repeat_interval: '4h',
          continue: false,
        },
      ],
      inhibit: true,
      resolved: true,
      silences: [],
      maintenance: [],
    });
    // Notifier blocks are parsed by their type's schema in the same pass: defaults filled in.
    expect(config.notifiers.pagerduty).toEqual({
      type: 'pagerduty',
      routingKey: 'k',
      url: PAGERDUTY_EVENTS_URL,
    });
  });

  it.each<[string, unknown, string[]]>([
    [
      'an unknown notifier name, with a suggestion',
      { routes: [{ notify: ['slak'] }], notifiers },
      ['routes[0].notify[0]: no notifier named "slak" in alerting.notifiers; did you mean "slack"?'],
    ],
    [
      'an unknown notifier name, listing the defined ones',
      { routes: [{ notify: ['slack', 'opsgenie'] }], notifiers },
      [
        'routes[0].notify[1]: no notifier named "opsgenie" in alerting.notifiers; defined: pagerduty, slack, audit',
      ],
    ],
    [
      'a bad duration and a bad severity',
      { routes: [{ match: { severity: 'page' }, notify: ['slack'], group_wait: 'soon' }], notifiers },
      [
        'routes[0].match.severity: expected a severity (info, warning, critical) or a list of them, got "page"',
        'routes[0].group_wait: expected a duration like "30s", got "soon"',
      ],
    ],
    [
      'a regex that does not compile',
      { routes: [{ match: { labelsRegex: { target: '(' } }, notify: ['slack'] }], notifiers },
      [
        'routes[0].match.labelsRegex.target: expected a valid regular expression, got "(" (missing closing ): "(")',
      ],
    ],
    [
      'a notifier without a type and an unknown key',
      { routes: [{ notify: ['x'], groupBy: [] }], notifiers: { x: {} } },
      ['routes[0].groupBy: unknown key; did you mean "group_by"?', 'notifiers.x.type: required'],
    ],
    [
      'bad notifier blocks together with a bad route, hiding the settings (they are mostly secrets)',
      {
        routes: [{ notify: ['chat'], group_wait: 'soon' }],
        notifiers: {
          chat: { type: 'slack', webhookUrl: 'not a url s3cr3t', channel: '#ops' },
          pd: { type: 'pagerdutty', routingKey: 'k' },
        },
      },
      [
        'routes[0].group_wait: expected a duration like "30s", got "soon"',
        'notifiers.chat.webhookUrl: expected an http(s) URL, got [REDACTED]',
        'notifiers.chat.channel: unknown key; expected one of: type, webhookUrl',
        'notifiers.pd.type: expected one of "webhook", "slack", "pagerduty", "alertmanager", "email", "teams", "discord", got "pagerdutty"; did you mean "pagerduty"?',
      ],
    ],
    [
      'routes without a notifiers section (no crash: the names are not checked against nothing)',
      { routes: [{ notify: ['x'] }] },
      ['notifiers: required'],
    ],
    [
      'a silence that ends before it starts, and a maintenance window with a bad time and zone',
      {
        routes: [{ notify: ['slack'] }],
        notifiers,
        silences: [
          {
            matchers: [{ label: 'target', value: 'a' }],
            startsAt: '2025-01-02T00:00:00Z',
            endsAt: '2025-01-01T00:00:00Z',
            comment: 'x',
          },
        ],
        maintenance: [
          { matchers: [], weekdays: ['sun'], start: '25:00', duration: '1h', timezone: 'Europe/Paris' },
        ],
      },
      [
        'silences[0].endsAt: must be after startsAt, got "2025-01-01T00:00:00Z"',
        'maintenance[0].matchers: needs at least one matcher',
        'maintenance[0].start: expected a time of day "HH:MM" (24 h) like "02:00", got "25:00"',
        'maintenance[0].timezone: only "UTC" is supported for now, got "Europe/Paris"',
      ],
    ],
  ])('reports %s with its path', (_name, input, expected) => {
    expect(diagnostics(input).sort()).toEqual([...expected].sort());
  });
});

describe('routeAlert', () => {
  const T = 1_700_000_000_000;
  const critical = alertsFromTransition(transition(plan(), 'pending', 'unhealthy', T), plan())[0] as Alert;
  const warning = alertsFromTransition(
    transition(plan('integrity'), 'healthy', 'degraded', T),
    plan('integrity'),
  )[0] as Alert;
  const names = (routes: RouteConfig[]) => routes.map((r) => r.notify.join('+'));

  it('takes the first matching route only', () => {
    const { routes } = parse({
      routes: [
        { match: { severity: 'critical' }, notify: ['pagerduty'] },
        { match: { severity: ['warning', 'critical'] }, notify: ['slack'] },
        { notify: ['audit'] },
      ],
      notifiers,
    });
    expect(names(routeAlert(critical, routes))).toEqual(['pagerduty']);
    expect(names(routeAlert(warning, routes))).toEqual(['slack']);
  });

  it('goes on past a route with continue: true', () => {
    const { routes } = parse({
      routes: [
        { notify: ['audit'], continue: true },
        { match: { severity: 'critical' }, notify: ['pagerduty'] },
        { match: { severity: 'critical' }, notify: ['slack'] },
      ],
      notifiers,
    });
    expect(names(routeAlert(critical, routes))).toEqual(['audit', 'pagerduty']);
    expect(names(routeAlert(warning, routes))).toEqual(['audit']);
  });

  it('matches labels exactly and labelsRegex anchored, and may match nothing', () => {
    const { routes } = parse({
      routes: [
        { match: { labels: { team: 'risk', check: 'integrity' } }, notify: ['slack'] },
        { match: { labelsRegex: { target: 'credit' } }, notify: ['audit'] },
        { match: { labelsRegex: { target: 'credit-.*' } }, notify: ['pagerduty'] },
      ],
      notifiers,
    });
    expect(names(routeAlert(warning, routes))).toEqual(['slack']);
    expect(names(routeAlert(critical, routes))).toEqual(['pagerduty']);
    expect(routeAlert({ labels: { target: 'fraud' } }, routes)).toEqual([]);
  });
});
