// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the YAML under test uses ${VAR} references
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { webhookPlugin } from '../alerting/notifiers/webhook.js';
import { ConfigError } from '../errors.js';
import { loadConfig, loadConfigOrThrow, parseConfig } from './load.js';

const MINIMAL = 'targets: [{ name: a, url: "http://127.0.0.1:8081", protocol: http }]\n';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'vigil-config-'));
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('secrets', () => {
  const env = {
    SECRET_NAME: 'name s3cr3t',
    SECRET_URL: 'notaurl-s3cr3t-host',
    SECRET_DURATION: 'dur-s3cr3t',
    SECRET_CA: 'ca-s3cr3t.pem',
    SECRET_SCHEMA: 'schema-s3cr3t.json',
    SECRET_REGEX: 'rx-s3cr3t',
    SECRET_PROTO: 'proto-s3cr3t',
    SECRET_TIMEOUT: '20s',
  };
  const literalPassword = 'literal pa55 s3cr3t';
  const yaml = `
region: "\${SECRET_NAME}"
targets:
  - name: a
    url: "\${SECRET_URL}"
    protocol: http
    interval: "\${SECRET_DURATION}"
    auth: { basic: { username: u, password: "${literalPassword}" } }
    tls: { caFile: "\${SECRET_CA}" }
    checks:
      liveness: { expect: { schema: "\${SECRET_SCHEMA}", body: { matches: "(\${SECRET_REGEX}" } } }
  - { name: b, url: "http://127.0.0.1:1", protocol: "\${SECRET_PROTO}" }
  - { name: "${literalPassword}", url: "http://127.0.0.1:1", protocol: http }
  - { name: d, url: "http://127.0.0.1:1", protocol: http, timeout: "\${SECRET_TIMEOUT}" }
`;

  it('never appear in diagnostics, even where the bad value is a secret', () => {
    const result = parseConfig(yaml, { baseDir: tempDir(), env });
    if (result.ok) expect.fail('loaded');
    for (const line of result.diagnostics) {
      for (const secret of [...Object.values(env), literalPassword]) expect(line).not.toContain(secret);
    }
    expect(result.diagnostics).toEqual([
      'line 2, column 1: region: expected a name of letters, digits, ".", "_" and "-" that starts with a letter or digit, got [REDACTED]',
      'line 5, column 5: targets[0].url: expected an http(s) URL like "http://127.0.0.1:8081", got [REDACTED]',
      'line 7, column 5: targets[0].interval: expected a duration like "10s", got [REDACTED]',
      'line 9, column 12: targets[0].tls.caFile: [REDACTED] ([REDACTED]) does not exist',
      'line 11, column 29: targets[0].checks.liveness.expect.schema: [REDACTED] ([REDACTED]) does not exist',
      'line 11, column 65: targets[0].checks.liveness.expect.body.matches: expected a valid regular expression, got [REDACTED] (missing closing ): [REDACTED])',
      'line 12, column 43: targets[1].protocol: expected one of oip-v2, oip-grpc, kserve-v1, torchserve, tfserving, openai, ollama, http, got [REDACTED]',
      'line 13, column 7: targets[2].name: expected a name of letters, digits, ".", "_" and "-" that starts with a letter or digit, got [REDACTED]',
      'line 14, column 59: targets[3].timeout: timeout [REDACTED] must be less than interval 10s (defaults.interval)',
    ]);
  });

  it('are hidden by the redactor of a loaded config: env values, tokens, passwords, basic-auth headers', () => {
    const result = parseConfig(
      `
targets:
  - name: a
    url: http://127.0.0.1:8081
    protocol: http
    headers: { X-Api-Key: "\${API_KEY}", Authorization: "Literal header-s3cr3t" }
    auth: { basic: { username: vigil, password: literal-pa55 } }
  - { name: b, url: "http://127.0.0.1:8082", protocol: http, auth: { bearer: literal-t0ken } }
`,
      { baseDir: tempDir(), env: { API_KEY: 'env-k3y' } },
    );
    if (!result.ok) expect.fail(result.diagnostics.join('\n'));
    const basicHeader = Buffer.from('vigil:literal-pa55').toString('base64');
    const text = `key env-k3y, ${basicHeader}, literal-pa55, literal-t0ken, Literal header-s3cr3t, vigil`;
    expect(result.redact(text)).toBe('key [REDACTED], [REDACTED], [REDACTED], [REDACTED], [REDACTED], vigil');
  });

  it('are hidden by default for every configured header but the public ones, and credential query values', () => {
    const result = parseConfig(
      `
targets:
  - name: a
    url: http://127.0.0.1:8081
    protocol: http
    headers: { X-Auth-Token: literal-auth-t0ken, X-Tenant: tenant-77, Content-Type: application/json, X-Debug: 1 }
    checks:
      liveness:
        request: { path: "/health?access_token=query-t0ken&page=2", headers: { X-Other: other-literal } }
`,
      { baseDir: tempDir(), env: {} },
    );
    if (!result.ok) expect.fail(result.diagnostics.join('\n'));
    const text =
      'literal-auth-t0ken tenant-77 other-literal query-t0ken application/json 1 see /x?api_key=unknown-to-config';
    expect(result.redact(text)).toBe(
      '[REDACTED] [REDACTED] [REDACTED] [REDACTED] application/json 1 see /x?api_key=[REDACTED]',
    );
  });
});

describe('parseConfig', () => {
  it('returns a deeply frozen config and plan', () => {
    const result = parseConfig(
      'targets: [{ name: a, url: "http://127.0.0.1:8081", protocol: http, labels: { team: x } }]',
      { baseDir: tempDir(), env: {} },
    );
    if (!result.ok) expect.fail(result.diagnostics.join('\n'));
    const target = result.config.targets[0];
    expect(Object.isFrozen(result.config)).toBe(true);
    expect(Object.isFrozen(target?.labels)).toBe(true);
    expect(Object.isFrozen(result.config.defaults)).toBe(true);
    expect(Object.isFrozen(result.plan)).toBe(true);
    expect(Object.isFrozen(result.plan[0]?.target.labels)).toBe(true);
    expect(() => {
      (result.config.defaults as { interval: string }).interval = '1s';
    }).toThrow(TypeError);
  });

  it('reports YAML syntax errors with line and column', () => {
    const result = parseConfig('targets:\n  - name: [a\n', { baseDir: tempDir(), env: {} });
    expect(result).toEqual({
      ok: false,
      code: 'VIGIL_ERR_CONFIG_INVALID',
      diagnostics: [expect.stringMatching(/^line 3, column 1: /)],
    });
  });

  it('reports duplicate YAML keys', () => {
    const result = parseConfig('targets: []\ntargets: []\n', { file: 'v.yaml', baseDir: tempDir(), env: {} });
    expect(result.ok ? [] : result.diagnostics).toEqual(['v.yaml:2:1: Map keys must be unique']);
  });

  it('reports an alias bomb instead of expanding it', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (const [name, prev] of [
      ['b', 'a'],
      ['c', 'b'],
      ['d', 'c'],
      ['e', 'd'],
      ['f', 'e'],
    ]) {
      lines.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(', ')}]`);
    }
    const result = parseConfig(lines.join('\n'), { file: 'bomb.yaml', baseDir: tempDir(), env: {} });
    expect(result.ok ? [] : result.diagnostics).toEqual([
      expect.stringMatching(/^bomb\.yaml: Excessive alias count/),
    ]);
  });

  it('reports only the missing variable, not what its empty value breaks', () => {
    const result = parseConfig('targets: [{ name: a, url: "${HOST}", protocol: http }]', {
      baseDir: tempDir(),
      env: {},
    });
    expect(result.ok ? [] : result.diagnostics).toEqual([
      'line 1, column 22: targets[0].url: environment variable HOST is not set',
    ]);
  });

  it('reports a schema file that is not JSON', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'schema.json'), '{ not json');
    const result = parseConfig(
      'targets: [{ name: a, url: "http://127.0.0.1:8081", protocol: http, checks: { liveness: { expect: { schema: schema.json } } } }]',
      { baseDir: dir, env: {} },
    );
    expect(result.ok ? [] : result.diagnostics).toEqual([
      expect.stringMatching(
        /^line 1, column 100: targets\[0\]\.checks\.liveness\.expect\.schema: "schema\.json" \(.*schema\.json\) is not valid JSON: /,
      ),
    ]);
  });

  it('reads a schema file and an inline schema into the config', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'schema.json'), '{"type": "object"}');
    const result = parseConfig(
      `
targets:
  - name: a
    url: http://127.0.0.1:8081
    protocol: http
    checks:
      liveness: { expect: { schema: schema.json } }
      readiness: { expect: { schema: { type: array } } }
`,
      { baseDir: dir, env: {} },
    );
    if (!result.ok) expect.fail(result.diagnostics.join('\n'));
    expect(result.plan.map((plan) => plan.expect.schema)).toEqual([{ type: 'object' }, { type: 'array' }]);
  });
});

describe('notifier blocks', () => {
  it('are validated with everything else and built by nobody here (the hub builds them once)', () => {
    const create = vi.spyOn(webhookPlugin, 'create');
    try {
      const result = parseConfig(
        `${MINIMAL}alerting:\n  routes: [{ notify: [hook] }]\n  notifiers: { hook: { type: webhook, url: "https://ops.example.com/hook" } }\n`,
        { baseDir: tempDir(), env: {} },
      );
      if (!result.ok) expect.fail(result.diagnostics.join('\n'));
      expect(result.config.alerting?.notifiers.hook).toEqual({
        type: 'webhook',
        url: 'https://ops.example.com/hook',
      });
      expect(Object.isFrozen(result.config.alerting?.notifiers.hook)).toBe(true);
      expect(create).not.toHaveBeenCalled();
    } finally {
      create.mockRestore();
    }
  });
});

describe('loadConfig', () => {
  it('resolves relative paths against the config file folder and reads ${VAR} from process.env', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'ca.pem'), 'placeholder');
    writeFileSync(
      join(dir, 'vigil.yaml'),
      'targets: [{ name: a, url: "https://${VIGIL_TEST_HOST}:8443", protocol: http, tls: { caFile: ca.pem } }]',
    );
    vi.stubEnv('VIGIL_TEST_HOST', 'model.internal');
    const result = await loadConfig(join(dir, 'vigil.yaml'));
    if (!result.ok) expect.fail(result.diagnostics.join('\n'));
    expect(result.plan[0]?.target).toMatchObject({
      url: 'https://model.internal:8443',
      tls: { caFile: join(dir, 'ca.pem') },
    });
  });

  it('takes env from its options instead of process.env', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'vigil.yaml'), 'targets: [{ name: a, url: "http://${H}:1", protocol: http }]');
    const result = await loadConfig(join(dir, 'vigil.yaml'), { env: { H: 'h.local' } });
    expect(result.ok && result.plan[0]?.target.url).toBe('http://h.local:1');
  });

  it('reports an unreadable file with code VIGIL_ERR_CONFIG_READ', async () => {
    const file = join(tempDir(), 'missing.yaml');
    expect(await loadConfig(file)).toEqual({
      ok: false,
      code: 'VIGIL_ERR_CONFIG_READ',
      diagnostics: [`${file}: cannot read the config file: it does not exist`],
    });
  });
});

describe('loadConfigOrThrow', () => {
  it('returns the loaded config', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'vigil.yaml'), MINIMAL);
    expect((await loadConfigOrThrow(join(dir, 'vigil.yaml'))).plan.map((plan) => plan.id)).toEqual([
      'a/liveness',
    ]);
  });

  it('throws a ConfigError carrying every diagnostic', async () => {
    const file = join(tempDir(), 'vigil.yaml');
    writeFileSync(file, 'targets: [{ name: a, url: "http://x", protocol: http, interval: 1 }]\nx: 1\n');
    const error = await loadConfigOrThrow(file).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({
      code: 'VIGIL_ERR_CONFIG_INVALID',
      diagnostics: [
        `${file}:1:55: targets[0].interval: expected a duration like "10s" (add a unit: ms, s, m, h, d or w), got 1`,
        `${file}:2:1: x: unknown key; expected one of: region, defaults, targets, alerting, routers, agents, discovery, cluster, metrics`,
      ],
    });
    expect((error as Error).message).toContain('targets[0].interval: expected a duration');
  });

  it('throws VIGIL_ERR_CONFIG_READ for a missing file', async () => {
    await expect(loadConfigOrThrow(join(tempDir(), 'nope.yaml'))).rejects.toMatchObject({
      code: 'VIGIL_ERR_CONFIG_READ',
    });
  });
});
