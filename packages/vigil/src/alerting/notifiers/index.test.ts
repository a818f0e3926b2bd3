import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../errors.js';
import {
  createNotifier,
  createNotifiers,
  NOTIFIER_TYPE_NAMES,
  NOTIFIER_TYPES,
  notifierConfigSchema,
} from './index.js';

const VALID: Record<string, Record<string, unknown>> = {
  webhook: { type: 'webhook', url: 'https://ops.example.com/hook' },
  slack: { type: 'slack', webhookUrl: 'https://hooks.slack.com/services/T0/B0/x' },
  pagerduty: { type: 'pagerduty', routingKey: 'R0UT1NGK3Y0123456789abcdef012345' },
  alertmanager: { type: 'alertmanager', url: ['http://am-0:9093', 'http://am-1:9093'] },
  email: { type: 'email', host: 'smtp.example.com', from: 'vigil@example.com', to: ['oncall@example.com'] },
  teams: {
    type: 'teams',
    webhookUrl: 'https://prod-01.westeurope.logic.azure.com/workflows/x/triggers/manual/paths/invoke?sig=s',
  },
  discord: { type: 'discord', webhookUrl: 'https://discord.com/api/webhooks/1/x' },
};

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('notifier registry', () => {
  it('registers the seven notifier types', () => {
    expect(NOTIFIER_TYPE_NAMES).toEqual([
      'webhook',
      'slack',
      'pagerduty',
      'alertmanager',
      'email',
      'teams',
      'discord',
    ]);
    expect(Object.keys(VALID).sort()).toEqual([...NOTIFIER_TYPE_NAMES].sort());
  });

  it.each(NOTIFIER_TYPE_NAMES)('creates a %s notifier from its config block', (type) => {
    const notifier = createNotifier(`my-${type}`, VALID[type]);
    expect(notifier.type).toBe(type);
    expect(notifier.name).toBe(`my-${type}`);
    expect(NOTIFIER_TYPES[type].configSchema.safeParse(VALID[type]).success).toBe(true);
  });

  it('names the known types for an unknown one', () => {
    const error = configError(() => createNotifier('chat', { type: 'matrix', url: 'https://x' }));
    expect(error.code).toBe('VIGIL_ERR_CONFIG_INVALID');
    expect(error.diagnostics).toEqual([
      'alerting.notifiers.chat.type: expected one of "webhook", "slack", "pagerduty", "alertmanager", "email", "teams", "discord", got "matrix"',
    ]);
  });

  it('reports every problem with its path, hiding the values', () => {
    const error = configError(() =>
      createNotifier('pd', { type: 'pagerduty', routingKey: '', url: 'not a url sekrit', sevrity: 'x' }),
    );
    expect(error.diagnostics).toEqual(
      expect.arrayContaining([
        'alerting.notifiers.pd.routingKey: must not be empty',
        'alerting.notifiers.pd.url: expected an http(s) URL, got [REDACTED]',
        expect.stringMatching(/^alerting\.notifiers\.pd\.sevrity: unknown key/),
      ]),
    );
    expect(error.diagnostics.join('\n')).not.toContain('sekrit');
  });

  it.each(NOTIFIER_TYPE_NAMES)("keys %s by its schema's type literal", (type) => {
    expect(NOTIFIER_TYPES[type].configSchema.shape.type.value).toBe(type);
  });

  it('suggests the closest type for a misspelt one', () => {
    const error = configError(() => createNotifier('chat', { type: 'slak', webhookUrl: 'https://x' }));
    expect(error.diagnostics).toEqual([
      'alerting.notifiers.chat.type: expected one of "webhook", "slack", "pagerduty", "alertmanager", "email", "teams", "discord", got "slak"; did you mean "slack"?',
    ]);
  });

  it('validates every type in one union, with defaults filled in', () => {
    const parsed = NOTIFIER_TYPE_NAMES.map((type) => notifierConfigSchema.parse(VALID[type]));
    expect(parsed.map((config) => config.type)).toEqual(NOTIFIER_TYPE_NAMES);
    expect(parsed[2]).toEqual({ ...VALID.pagerduty, url: 'https://events.pagerduty.com/v2/enqueue' });
    expect(notifierConfigSchema.safeParse({ type: 'email', host: 'h' }).success).toBe(false);
  });

  it('builds notifiers from validated (frozen) configs without validating them again', () => {
    const configs = Object.freeze(
      Object.fromEntries(
        NOTIFIER_TYPE_NAMES.map((type) => [
          `my-${type}`,
          Object.freeze(notifierConfigSchema.parse(VALID[type])),
        ]),
      ),
    );
    const notifiers = createNotifiers(configs);
    expect([...notifiers].map(([name, notifier]) => [name, notifier.name, notifier.type])).toEqual(
      NOTIFIER_TYPE_NAMES.map((type) => [`my-${type}`, `my-${type}`, type]),
    );
    expect(createNotifiers(undefined).size).toBe(0);
  });
});
