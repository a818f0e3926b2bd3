import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildTrafficPlan } from '../config/plan.js';
import { parseListen, resolveRouters, routersSchema } from './config.js';
import { loadRouterConfig, validateRouters } from './load.js';

const TARGETS = ['credit-a', 'credit-b', 'credit-c'];
const base = { name: 'credit', listen: 8090, primary: 'credit-a', secondaries: ['credit-b'] };

describe('routers schema', () => {
  it('fills the policy with its defaults (Envoy outlier detection, failoverAt from the deadline)', () => {
    const result = validateRouters([{ name: 'r', listen: '127.0.0.1:8090', primary: 'credit-a' }], TARGETS);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.routers[0]).toEqual({
      name: 'r',
      listen: '127.0.0.1:8090',
      primary: 'credit-a',
      secondaries: [],
      policy: {
        deadline: '30s',
        window: '10s',
        hedgeMaxShare: 0.1,
        idempotent: false,
        bodyCapBytes: 1_048_576,
        outlier: { consecutive5xx: 5, baseEjection: '30s', maxEjectedShare: 0.1 },
        returnSteps: [0.1, 0.25, 0.5, 1],
        healthyFor: '10s',
      },
      traffic: { interval: '250ms', failureThreshold: 2, successThreshold: 2, errorShare: 0.5 },
    });
    const [plan] = resolveRouters(
      result.routers,
      TARGETS.map((name, i) => ({ name, url: `http://127.0.0.1:900${i}` })),
      '/etc/vigil',
    );
    expect(plan?.policy.failoverAtMs).toBe(27_000);
    expect(plan?.policy.hedgeAfterMs).toBeUndefined();
    expect(plan?.upstreams).toEqual([{ name: 'credit-a', url: 'http://127.0.0.1:9000', role: 'primary' }]);
  });

  it('resolves durations, the static fallback and a module path against the config folder', () => {
    const result = validateRouters(
      [
        {
          ...base,
          fallback: { status: 200, body: { outputs: [] } },
          policy: { deadline: '200ms', failoverAt: '180ms', hedgeAfter: '120ms', idempotent: true },
        },
        { ...base, name: 'other', listen: 8091, fallback: { module: './h.js', export: 'score' } },
      ],
      TARGETS,
    );
    if (!result.ok) throw new Error(result.diagnostics.join('\n'));
    const [one, two] = resolveRouters(
      result.routers,
      TARGETS.map((name) => ({ name, url: `http://${name}` })),
      '/etc/vigil',
    );
    expect(one?.policy).toMatchObject({
      deadlineMs: 200,
      failoverAtMs: 180,
      hedgeAfterMs: 120,
      idempotent: true,
    });
    expect(one?.fallback).toEqual({
      kind: 'static',
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: Buffer.from('{"outputs":[]}'),
    });
    expect(two?.fallback).toEqual({ kind: 'module', path: '/etc/vigil/h.js', export: 'score' });
    expect(two?.upstreams.map((u) => u.role)).toEqual(['primary', 'secondary']);
  });

  it.each([
    [
      { ...base, listen: 'localhost' },
      'routers[0].listen: expected a port (8090) or "host:port" like "127.0.0.1:8090", got "localhost"',
    ],
    [
      { ...base, listen: 70000 },
      'routers[0].listen: expected a port (8090) or "host:port" like "127.0.0.1:8090", got 70000',
    ],
    [
      { ...base, primary: 'credit-x' },
      'routers[0].primary: no target is named "credit-x"; did you mean "credit-a"?',
    ],
    [{ ...base, secondaries: ['nope'] }, 'routers[0].secondaries[0]: no target is named "nope"'],
    [
      { ...base, secondaries: ['credit-a'] },
      'routers[0].secondaries[0]: "credit-a" is the primary; a secondary must be another target',
    ],
    [
      { ...base, secondaries: ['credit-b', 'credit-b'] },
      'routers[0].secondaries[1]: "credit-b" is listed twice',
    ],
    [
      { ...base, policy: { deadline: 'fast' } },
      'routers[0].policy.deadline: expected a duration like "200ms", got "fast"',
    ],
    [
      { ...base, policy: { deadline: '200' } },
      'routers[0].policy.deadline: expected a duration like "200ms" (add a unit: ms, s, m, h, d or w), got "200"',
    ],
    [
      { ...base, policy: { deadline: '200ms', failoverAt: '250ms' } },
      'routers[0].policy.failoverAt: must be below deadline (200ms), got "250ms"',
    ],
    [
      { ...base, policy: { deadline: '200ms', hedgeAfter: '200ms' } },
      'routers[0].policy.hedgeAfter: must be below deadline (200ms), got "200ms"',
    ],
    [
      { ...base, policy: { hedgeMaxShare: 1.5 } },
      'routers[0].policy.hedgeMaxShare: expected a share between 0 and 1 (0.1 = 10%), got 1.5',
    ],
    [
      { ...base, policy: { returnSteps: [0.5, 0.25, 1] } },
      'routers[0].policy.returnSteps[1]: must be greater than the step before it (0.5), got 0.25',
    ],
    [
      { ...base, policy: { returnSteps: [0.1, 0.5] } },
      'routers[0].policy.returnSteps[1]: the last step must be 1 (all traffic back on the primary), got 0.5',
    ],
    [
      { ...base, policy: { returnSteps: [0, 1] } },
      'routers[0].policy.returnSteps[0]: expected a share between above 0 and 1 (0.1 = 10%), got 0',
    ],
    [
      { ...base, policy: { outlier: { consecutive5xx: 0 } } },
      'routers[0].policy.outlier.consecutive5xx: must be at least 1, got 0',
    ],
    [
      { ...base, policy: { idempotant: true } },
      'routers[0].policy.idempotant: unknown key; did you mean "idempotent"?',
    ],
    [
      { ...base, fallback: {} },
      'routers[0].fallback: needs "module" or a static answer (status, headers, body)',
    ],
    [
      { ...base, fallback: { module: './h.js', status: 200 } },
      'routers[0].fallback: takes "module" or a static answer (status), not both',
    ],
    [
      { ...base, fallback: { status: 42 } },
      'routers[0].fallback.status: expected a status code (200–599), got 42',
    ],
    [{ ...base, fallback: { body: 'x', export: 'f' } }, 'routers[0].fallback.export: only with "module"'],
    [{ listen: 8090, primary: 'credit-a' }, 'routers[0].name: required'],
  ])('rejects %j with one exact diagnostic', (router, diagnostic) => {
    expect(validateRouters([router], TARGETS)).toEqual({ ok: false, diagnostics: [diagnostic] });
  });

  it('rejects duplicate names and addresses; any number may take port 0', () => {
    expect(
      validateRouters(
        [
          base,
          { ...base, listen: '127.0.0.1:8090' },
          { ...base, name: 'two', listen: 0 },
          { ...base, name: 'three', listen: 0 },
        ],
        TARGETS,
      ),
    ).toEqual({
      ok: false,
      diagnostics: [
        'routers[1].name: duplicate router name "credit": routers[0] has it too',
        'routers[1].listen: routers[0] listens on "127.0.0.1:8090" too',
      ],
    });
  });

  it.each([
    [8090, { host: '127.0.0.1', port: 8090 }],
    ['8090', { host: '127.0.0.1', port: 8090 }],
    ['0.0.0.0:80', { host: '0.0.0.0', port: 80 }],
    ['[::1]:8090', { host: '::1', port: 8090 }],
    ['localhost:0', { host: 'localhost', port: 0 }],
    ['a:b', undefined],
    ['1.2.3.4:65536', undefined],
    [-1, undefined],
  ])('parseListen(%j)', (value, expected) => {
    expect(parseListen(value)).toEqual(expected);
  });

  it('accepts an input type that the schema output round-trips', () => {
    const parsed = routersSchema.parse([base]);
    expect(routersSchema.parse(parsed)).toEqual(parsed);
  });
});

describe('loadRouterConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-router-config-'));
  const targets = `
targets:
  - name: credit-a
    url: http://127.0.0.1:9001
    protocol: oip-v2
    model: credit-scorer
  - name: credit-b
    url: http://127.0.0.1:9002
    protocol: oip-v2
    model: credit-scorer
`;

  it('loads the targets with the config loader and resolves the routers against them', async () => {
    const file = join(dir, 'ok.yaml');
    writeFileSync(
      file,
      `${targets}routers:\n  - { name: credit, listen: 0, primary: credit-a, secondaries: [credit-b], policy: { deadline: "\${DEADLINE}" } }\n`,
    );
    const loaded = await loadRouterConfig(file, { env: { DEADLINE: '150ms' } });
    if (!loaded.ok) throw new Error(loaded.diagnostics.join('\n'));
    expect(loaded.config.config.targets).toHaveLength(2);
    expect(loaded.routers[0]?.upstreams.map((u) => u.url)).toEqual([
      'http://127.0.0.1:9001',
      'http://127.0.0.1:9002',
    ]);
    expect(loaded.routers[0]?.policy.deadlineMs).toBe(150);
  });

  it("reports the rest of the config's problems and the routers' together, with file:line:column", async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      `${targets.replace('url: http://127.0.0.1:9002', 'url: nope')}routers:\n  - { name: credit, listen: 0, primary: credit-x }\n`,
    );
    expect(await loadRouterConfig(file)).toEqual({
      ok: false,
      code: 'VIGIL_ERR_CONFIG_INVALID',
      diagnostics: [
        `${file}:8:5: targets[1].url: expected an http(s) URL like "http://127.0.0.1:8081", got "nope"`,
        `${file}:12:32: routers[0].primary: no target is named "credit-x"; did you mean "credit-a"?`,
      ],
    });
    writeFileSync(file, `${targets}routers:\n  - { name: credit, listen: 0, primary: credit-x }\n`);
    expect(await loadRouterConfig(file)).toEqual({
      ok: false,
      code: 'VIGIL_ERR_CONFIG_INVALID',
      diagnostics: [
        `${file}:12:32: routers[0].primary: no target is named "credit-x"; did you mean "credit-a"?`,
      ],
    });
  });

  it("places a router in a region: the hub's by default, an agent's region by name, an unknown one reported", async () => {
    const file = join(dir, 'regions.yaml');
    const agents =
      'agents: { regions: { eu-west: { token: "0123456789abcdef" }, us-east: { token: "0123456789abcdef" } } }\n';
    writeFileSync(
      file,
      `region: hq\n${agents}${targets}routers:\n  - { name: here, listen: 0, primary: credit-a }\n  - { name: eu, listen: 0, primary: credit-b, region: eu-west }\n`,
    );
    const loaded = await loadRouterConfig(file);
    if (!loaded.ok) throw new Error(loaded.diagnostics.join('\n'));
    expect(loaded.routers.map((r) => [r.name, r.region])).toEqual([
      ['here', 'hq'],
      ['eu', 'eu-west'],
    ]);
    // The hub's traffic checks: the one of a router in another region is that region's.
    expect(buildTrafficPlan(loaded.config.config).map((p) => [p.id, p.regions])).toEqual([
      ['credit-a/traffic:here', undefined],
      ['credit-b/traffic:eu', ['eu-west']],
    ]);
    writeFileSync(
      file,
      `region: hq\n${agents}${targets}routers:\n  - { name: eu, listen: 0, primary: credit-b, region: eu-wset }\n`,
    );
    expect(await loadRouterConfig(file)).toEqual({
      ok: false,
      code: 'VIGIL_ERR_CONFIG_INVALID',
      diagnostics: [
        `${file}:14:47: routers[0].region: unknown region "eu-wset": a router runs in the hub's region ("hq") or one of agents.regions (eu-west, us-east); did you mean "eu-west"?`,
      ],
    });
  });

  it('says that vigil route needs routers, and that a missing file cannot be read', async () => {
    const file = join(dir, 'none.yaml');
    writeFileSync(file, targets);
    expect(await loadRouterConfig(file)).toEqual({
      ok: false,
      code: 'VIGIL_ERR_CONFIG_INVALID',
      diagnostics: [
        `${file}: routers: required: vigil route needs at least one router (routers: [{name, listen, primary}])`,
      ],
    });
    expect(await loadRouterConfig(join(dir, 'missing.yaml'))).toEqual({
      ok: false,
      code: 'VIGIL_ERR_CONFIG_READ',
      diagnostics: [`${join(dir, 'missing.yaml')}: cannot read the config file: it does not exist`],
    });
  });
});
