/**
 * Kubernetes discovery through the real @kubernetes/client-node informers, against a local HTTP server
 * standing in for the API server (fakes/api-server.ts: exact list and watch paths, every object checked
 * against the Kubernetes schemas or, for InferenceServices, the schema written from the KServe CRD).
 * Targets come, change and go as the watch stream says, validated with the config file's schema.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../config/load.js';
import type { VigilConfig } from '../config/schema.js';
import { type FakeApiServer, startFakeApiServer } from './fakes/api-server.js';
import { type KubernetesDiscovery, startKubernetesDiscovery } from './kubernetes.js';
import { mergeDiscovered } from './merge.js';
import type { Discovered } from './objects.js';

const ISVC_PATH = '/apis/serving.kserve.io/v1beta1/namespaces/ml/inferenceservices';
const SVC_PATH = '/api/v1/namespaces/ml/services';

function isvc(name: string, protocolVersion: string | undefined, url: string | undefined) {
  return {
    apiVersion: 'serving.kserve.io/v1beta1',
    kind: 'InferenceService',
    metadata: { name, namespace: 'ml' },
    spec: {
      predictor: {
        model: {
          modelFormat: { name: 'sklearn' },
          storageUri: 'gs://models/x',
          ...(protocolVersion && { protocolVersion }),
        },
      },
    },
    ...(url !== undefined && {
      status: {
        url: `http://${name}.ml.example.com`,
        components: { predictor: { url: `http://${name}-predictor.ml.example.com`, address: { url } } },
      },
    }),
  };
}

function service(name: string, annotations: Record<string, string>, ports = [{ name: 'http', port: 8080 }]) {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'ml', labels: { 'vigil.dev/probe': 'true' }, annotations },
    spec: { selector: { app: name }, ports },
  };
}

function config(): VigilConfig {
  const result = parseConfig(
    `
defaults: { interval: 10s, timeout: 2s }
targets:
  - { name: file-target, url: "http://127.0.0.1:9", protocol: http }
discovery:
  kubernetes:
    namespaces: [ml]
    inferenceServices: true
    services: { selector: "vigil.dev/probe=true" }
`,
    { baseDir: '/', env: {} },
  );
  if (!result.ok) throw new Error(result.diagnostics.join('\n'));
  return result.config;
}

describe('Kubernetes discovery', () => {
  let api: FakeApiServer;
  let discovery: KubernetesDiscovery | undefined;
  let latest: readonly Discovered[];
  let changes: number;

  beforeEach(async () => {
    api = await startFakeApiServer();
    latest = [];
    changes = 0;
  });
  afterEach(async () => {
    await discovery?.stop();
    discovery = undefined;
    await api.close();
  });

  async function start() {
    const cfg = config();
    discovery = await startKubernetesDiscovery(
      {
        ...(cfg.discovery?.kubernetes as NonNullable<NonNullable<VigilConfig['discovery']>['kubernetes']>),
        kubeconfig: api.kubeconfig,
      },
      {
        debounceMs: 10,
        retryMs: 20,
        log: () => {},
        onChange: (found) => {
          latest = found;
          changes += 1;
        },
      },
    );
    return cfg;
  }

  const targets = (cfg: VigilConfig) =>
    mergeDiscovered(cfg, latest).targets.map((t) => ({
      name: t.name,
      url: t.url,
      protocol: t.protocol,
      model: t.model,
    }));

  it('InferenceServices and annotated Services appear as targets, change, and disappear as the watch stream says', async () => {
    api.setList(ISVC_PATH, [isvc('scorer', 'v2', 'http://scorer-predictor.ml.svc.cluster.local')]);
    api.setList(SVC_PATH, [
      service('vllm', {
        'vigil.dev/protocol': 'openai',
        'vigil.dev/model': 'llama-3-8b',
        'vigil.dev/port': 'http',
      }),
    ]);
    const cfg = await start();

    // The exact requests: a list (with the label selector) then a watch from its resourceVersion, bearer token.
    const requests = api.seen.map((r) => [r.path, r.query, r.authorization]);
    expect(requests).toEqual(
      expect.arrayContaining([
        [ISVC_PATH, {}, 'Bearer t0ken'],
        [ISVC_PATH, { watch: 'true', resourceVersion: '100' }, 'Bearer t0ken'],
        [SVC_PATH, { labelSelector: 'vigil.dev/probe=true' }, 'Bearer t0ken'],
        [
          SVC_PATH,
          { watch: 'true', resourceVersion: '100', labelSelector: 'vigil.dev/probe=true' },
          'Bearer t0ken',
        ],
      ]),
    );
    expect(api.seen).toHaveLength(4);
    expect(targets(cfg)).toEqual([
      {
        name: 'ml.scorer',
        url: 'http://scorer-predictor.ml.svc.cluster.local',
        protocol: 'oip-v2',
        model: 'scorer',
      },
      { name: 'ml.vllm', url: 'http://vllm.ml.svc:8080', protocol: 'openai', model: 'llama-3-8b' },
    ]);

    // ADDED: an InferenceService not yet ready (no URL in its status) is no target; once its status
    // has a URL (MODIFIED) it is one. The default protocolVersion is v1.
    api.event(ISVC_PATH, 'ADDED', isvc('fraud', undefined, undefined));
    await vi.waitFor(() => expect(latest.map((d) => d.key)).toContain('InferenceService/ml/fraud'), {
      timeout: 10_000,
    });
    expect(targets(cfg).map((t) => t.name)).toEqual(['ml.scorer', 'ml.vllm']);
    api.event(ISVC_PATH, 'MODIFIED', isvc('fraud', undefined, 'http://fraud-predictor.ml.svc.cluster.local'));
    await vi.waitFor(() => expect(targets(cfg).map((t) => t.name)).toContain('ml.fraud'), {
      timeout: 10_000,
    });
    expect(targets(cfg).find((t) => t.name === 'ml.fraud')).toEqual({
      name: 'ml.fraud',
      url: 'http://fraud-predictor.ml.svc.cluster.local',
      protocol: 'kserve-v1',
      model: 'fraud',
    });

    // MODIFIED: the Service's annotation names another model.
    api.event(
      SVC_PATH,
      'MODIFIED',
      service('vllm', { 'vigil.dev/protocol': 'openai', 'vigil.dev/model': 'llama-3-70b' }),
    );
    await vi.waitFor(
      () => expect(targets(cfg).find((t) => t.name === 'ml.vllm')?.model).toBe('llama-3-70b'),
      {
        timeout: 10_000,
      },
    );

    // DELETED: gone.
    api.event(ISVC_PATH, 'DELETED', isvc('scorer', 'v2', 'http://scorer-predictor.ml.svc.cluster.local'));
    await vi.waitFor(() => expect(targets(cfg).map((t) => t.name)).toEqual(['ml.fraud', 'ml.vllm']), {
      timeout: 10_000,
    });
    expect(api.watching(ISVC_PATH)).toBe(1);
  });

  it('a malformed annotation is reported with the resource and the key, and nothing else is affected', async () => {
    api.setList(SVC_PATH, [
      service('good', { 'vigil.dev/protocol': 'oip-v2', 'vigil.dev/model': 'm' }),
      service('bad-yaml', {
        'vigil.dev/protocol': 'oip-v2',
        'vigil.dev/model': 'm',
        'vigil.dev/checks': '{ liveness: {',
      }),
      service('bad-check', {
        'vigil.dev/protocol': 'oip-v2',
        'vigil.dev/model': 'm',
        'vigil.dev/checks': '{ liveness: { timeout: fast } }',
      }),
      service('bad-protocol', { 'vigil.dev/protocol': 'oip-v3', 'vigil.dev/model': 'm' }),
      service('two-ports', { 'vigil.dev/protocol': 'http' }, [
        { name: 'http', port: 80 },
        { name: 'metrics', port: 9090 },
      ]),
      service('file-target', { 'vigil.dev/protocol': 'http', 'vigil.dev/name': 'file-target' }),
    ]);
    api.setList(ISVC_PATH, []);
    const cfg = await start();
    const merged = mergeDiscovered(cfg, latest);
    expect(merged.targets.map((t) => t.name)).toEqual(['ml.good']);
    expect(merged.diagnostics).toEqual([
      'Service ml/bad-check: annotation vigil.dev/checks: checks.liveness.timeout: expected a duration like "2s", got "fast"',
      expect.stringMatching(
        /^Service ml\/bad-protocol: annotation vigil\.dev\/protocol: protocol: expected one of .*got "oip-v3"; did you mean "oip-v2"\?$/,
      ),
      expect.stringMatching(/^Service ml\/bad-yaml: annotation vigil\.dev\/checks: not YAML or JSON: /),
      'Service ml/file-target: target name "file-target" is taken by the config file; set annotation vigil.dev/name to another',
      'Service ml/two-ports: annotation vigil.dev/port: required: there are 2 ports (http (80), metrics (9090)); name the one to probe',
    ]);

    // Fixing one annotation (MODIFIED) brings that target in; the others stay as they were.
    api.event(
      SVC_PATH,
      'MODIFIED',
      service('bad-check', {
        'vigil.dev/protocol': 'oip-v2',
        'vigil.dev/model': 'm',
        'vigil.dev/checks': '{ liveness: { timeout: 1s } }',
      }),
    );
    await vi.waitFor(
      () =>
        expect(mergeDiscovered(cfg, latest).targets.map((t) => t.name)).toEqual(['ml.bad-check', 'ml.good']),
      { timeout: 10_000 },
    );
    expect(mergeDiscovered(cfg, latest).diagnostics).toHaveLength(4);
  });

  it('a watch whose list fails (the InferenceService CRD not installed) is retried; the others keep working', async () => {
    api.failList(ISVC_PATH, 404);
    api.setList(SVC_PATH, [service('vllm', { 'vigil.dev/protocol': 'openai', 'vigil.dev/model': 'llama' })]);
    const logs: string[] = [];
    const cfg = config();
    discovery = await startKubernetesDiscovery(
      { ...(cfg.discovery?.kubernetes as never as object), kubeconfig: api.kubeconfig } as never,
      {
        debounceMs: 10,
        retryMs: 20,
        log: (_l, m) => logs.push(m),
        onChange: (found) => {
          latest = found;
        },
      },
    );
    expect(targets(cfg).map((t) => t.name)).toEqual(['ml.vllm']);
    expect(logs[0]).toMatch(
      /watching \/apis\/serving\.kserve\.io\/v1beta1\/namespaces\/ml\/inferenceservices failed: HTTP 404: fake 404 \(is KServe installed\? the InferenceService CRD is not served\); retrying in 20 ms$/,
    );
    api.setList(ISVC_PATH, [isvc('scorer', 'v1', 'http://scorer-predictor.ml.svc.cluster.local')]);
    api.failList(ISVC_PATH, 200);
    await vi.waitFor(() => expect(targets(cfg).map((t) => t.name)).toEqual(['ml.scorer', 'ml.vllm']), {
      timeout: 10_000,
    });
    expect(changes).toBeGreaterThanOrEqual(0);
  });
});
