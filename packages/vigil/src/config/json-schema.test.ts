// biome-ignore-all lint/suspicious/noTemplateCurlyInString: notifier blocks under test use ${VAR} references
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { generateJsonSchema, JSON_SCHEMA_FILE } from './json-schema.js';

const committed = JSON.parse(
  readFileSync(fileURLToPath(new URL(`../../${JSON_SCHEMA_FILE}`, import.meta.url)), 'utf8'),
);
const validate = new Ajv2020({ allowUnionTypes: true }).compile(committed);

const target = (extra: Record<string, unknown> = {}) => ({
  targets: [{ name: 'a', url: 'http://127.0.0.1:8081', protocol: 'oip-v2', model: 'a', ...extra }],
});

describe('vigil.schema.json', () => {
  it('is current: regenerate it with `npx tsx packages/vigil/src/config/write-json-schema.ts`', () => {
    expect(committed).toEqual(generateJsonSchema());
  });

  it("is what the README's editor modeline points at, and ships in the package", () => {
    const root = (path: string) =>
      readFileSync(fileURLToPath(new URL(`../../../../${path}`, import.meta.url)), 'utf8');
    expect(root('README.md')).toContain(
      `# yaml-language-server: $schema=./node_modules/vigil-ml/${JSON_SCHEMA_FILE}`,
    );
    expect(JSON.parse(root('packages/vigil/package.json')).files).toContain(JSON_SCHEMA_FILE);
  });

  it('is draft 2020-12 with help text for editors', () => {
    expect(committed.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(committed.$defs.Interval.description).toMatch(/between two probes/);
    expect(committed.$defs.Defaults.properties.interval.default).toBe('10s');
  });

  it('accepts a minimal config', () => {
    expect(validate(target())).toBe(true);
  });

  it.each([
    ['an unknown key', target({ intervall: '10s' })],
    ['a duration without a unit (durations are strings)', target({ interval: 10 })],
    ['a duration that is not one', target({ interval: 'fast' })],
    ['an unknown protocol', { targets: [{ name: 'a', url: 'http://x', protocol: 'triton' }] }],
    [
      'an OIP request with a bad datatype',
      target({
        checks: {
          integrity: { request: { inputs: [{ name: 'x', shape: [1], datatype: 'FLOAT32', data: [1] }] } },
        },
      }),
    ],
  ])('rejects %s', (_, config) => {
    expect(validate(config)).toBe(false);
  });

  describe('notifier blocks (one union over the notifier registry)', () => {
    const withNotifier = (block: Record<string, unknown>) => ({
      ...target(),
      alerting: { routes: [{ notify: ['n'] }], notifiers: { n: block } },
    });

    it.each([
      ['webhook', { type: 'webhook', url: 'https://ops.example.com/hook', headers: { 'X-Team': 'risk' } }],
      ['slack, its URL from the environment', { type: 'slack', webhookUrl: '${SLACK_WEBHOOK_URL}' }],
      ['pagerduty', { type: 'pagerduty', routingKey: '${PD_ROUTING_KEY}' }],
      ['alertmanager, an HA pair', { type: 'alertmanager', url: ['http://am-0:9093', 'http://am-1:9093'] }],
      ['email', { type: 'email', host: 'smtp.example.com', from: 'v@example.com', to: ['o@example.com'] }],
    ])('accepts %s', (_, block) => {
      expect(validate(withNotifier(block))).toBe(true);
    });

    it.each([
      ['an unknown type', { type: 'teams', url: 'https://x' }],
      ['a block without a type', { url: 'https://x' }],
      ['an unknown key', { type: 'slack', webhookUrl: 'https://hooks.slack.com/x', channel: '#ops' }],
      ["a key of another type's block", { type: 'webhook', url: 'https://x', routingKey: 'k' }],
      ['a missing required key', { type: 'pagerduty' }],
      ['a URL that is not http(s)', { type: 'webhook', url: 'ftp://x' }],
      [
        'a resend interval without a unit',
        { type: 'alertmanager', url: 'http://am:9093', resendInterval: '60' },
      ],
    ])('rejects %s', (_, block) => {
      expect(validate(withNotifier(block))).toBe(false);
    });
  });
});
