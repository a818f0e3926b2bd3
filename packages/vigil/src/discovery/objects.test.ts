/**
 * Kubernetes objects → target candidates, as a table; every object is first checked against its schema
 * (Kubernetes OpenAPI via kubernetes-models, or the KServe fields Vigil reads).
 */
import { describe, expect, it } from 'vitest';
import { validateObject } from './fakes/api-server.js';
import { fromInferenceService, fromPod, fromService } from './objects.js';

const isvc = (
  predictor: Record<string, unknown>,
  status?: Record<string, unknown>,
  annotations?: Record<string, string>,
) => ({
  apiVersion: 'serving.kserve.io/v1beta1',
  kind: 'InferenceService',
  metadata: { name: 'iris', namespace: 'ml', ...(annotations && { annotations }) },
  spec: { predictor },
  ...(status && { status }),
});
const ready = {
  components: {
    predictor: {
      address: { url: 'http://iris-predictor.ml.svc.cluster.local' },
      grpcUrl: 'grpc://iris-predictor.ml.svc.cluster.local:9000',
    },
  },
};

describe('InferenceService → target', () => {
  it.each([
    [
      'v1 (default)',
      isvc({ model: { modelFormat: { name: 'sklearn' } } }, ready),
      { protocol: 'kserve-v1', url: 'http://iris-predictor.ml.svc.cluster.local', model: 'iris' },
    ],
    [
      'v2',
      isvc({ model: { protocolVersion: 'v2' } }, ready),
      { protocol: 'oip-v2', url: 'http://iris-predictor.ml.svc.cluster.local' },
    ],
    [
      'grpc-v2 uses grpcUrl',
      isvc({ model: { protocolVersion: 'grpc-v2' } }, ready),
      { protocol: 'oip-grpc', url: 'grpc://iris-predictor.ml.svc.cluster.local:9000' },
    ],
    [
      'the older per-framework field',
      isvc({ triton: { protocolVersion: 'v2' } }, ready),
      { protocol: 'oip-v2' },
    ],
    [
      'status.url when the predictor has none',
      isvc({ model: {} }, { url: 'http://iris.ml.example.com/' }),
      { url: 'http://iris.ml.example.com' },
    ],
    [
      'annotations win',
      isvc({ model: {} }, ready, {
        'vigil.dev/model': 'iris-v7',
        'vigil.dev/name': 'iris',
        'vigil.dev/path': '/api/',
      }),
      { name: 'iris', model: 'iris-v7', url: 'http://iris-predictor.ml.svc.cluster.local/api' },
    ],
  ])('%s', (_name, object, expected) => {
    validateObject(object);
    const found = fromInferenceService(object);
    expect(found.problems).toEqual([]);
    expect(found.target).toMatchObject(expected);
  });

  it('is no target (and no problem) until its status has a URL', () => {
    const found = fromInferenceService(isvc({ model: {} }));
    expect(found).toMatchObject({ key: 'InferenceService/ml/iris', problems: [] });
    expect(found.target).toBeUndefined();
  });

  it('names a protocolVersion Vigil has no adapter for', () => {
    const found = fromInferenceService(isvc({ model: { protocolVersion: 'grpc-v1' } }, ready));
    expect(found.problems).toEqual([
      'spec.predictor protocolVersion "grpc-v1" has no Vigil protocol; set annotation vigil.dev/protocol',
    ]);
  });
});

describe('Service and Pod → target', () => {
  const svc = (annotations: Record<string, string>, ports: { name?: string; port: number }[]) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'tgi', namespace: 'llm', annotations },
    spec: { ports },
  });
  it.each([
    ['the only port', svc({ 'vigil.dev/protocol': 'openai' }, [{ port: 80 }]), 'http://tgi.llm.svc:80'],
    [
      'a port by name',
      svc({ 'vigil.dev/port': 'api' }, [
        { name: 'm', port: 9090 },
        { name: 'api', port: 8000 },
      ]),
      'http://tgi.llm.svc:8000',
    ],
    [
      'a port by number, https',
      svc({ 'vigil.dev/port': '8443', 'vigil.dev/scheme': 'https' }, [
        { name: 'a', port: 8443 },
        { name: 'b', port: 1 },
      ]),
      'https://tgi.llm.svc:8443',
    ],
    [
      'grpc for oip-grpc',
      svc({ 'vigil.dev/protocol': 'oip-grpc' }, [{ port: 8001 }]),
      'grpc://tgi.llm.svc:8001',
    ],
  ])('Service: %s', (_name, object, url) => {
    validateObject(object);
    const found = fromService(object);
    expect(found.problems).toEqual([]);
    expect(found.target?.url).toBe(url);
    expect(found.origins.url).toBe('spec.ports');
  });

  it('Service: a port that does not exist names the annotation and the ports', () => {
    expect(fromService(svc({ 'vigil.dev/port': 'grpc' }, [{ name: 'http', port: 80 }])).problems).toEqual([
      'annotation vigil.dev/port: no port "grpc"; the ports are http (80)',
    ]);
  });

  it('Service: vigil.dev/target adds target keys, and a list there is a problem', () => {
    const found = fromService(
      svc({ 'vigil.dev/target': '{ timeout: 1s, labels: { team: llm } }' }, [{ port: 80 }]),
    );
    expect(found.target).toMatchObject({
      timeout: '1s',
      labels: { team: 'llm', namespace: 'llm', kind: 'service' },
    });
    expect(fromService(svc({ 'vigil.dev/target': '[1, 2]' }, [{ port: 80 }])).problems).toEqual([
      'annotation vigil.dev/target: expected a mapping like "{ liveness: {} }", got "[1, 2]"',
    ]);
  });

  const pod = (status: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'vllm-0', namespace: 'llm', annotations: { 'vigil.dev/protocol': 'openai' }, ...extra },
    spec: {
      containers: [{ name: 'vllm', image: 'vllm/vllm-openai:v0.6.0', ports: [{ containerPort: 8000 }] }],
    },
    status,
  });
  it.each([
    ['Running with an IP', pod({ phase: 'Running', podIP: '10.1.2.3' }), 'http://10.1.2.3:8000'],
    ['an IPv6 address', pod({ phase: 'Running', podIP: 'fd00::5' }), 'http://[fd00::5]:8000'],
    ['Pending: none', pod({ phase: 'Pending' }), undefined],
    [
      'being deleted: none',
      pod({ phase: 'Running', podIP: '10.1.2.3' }, { deletionTimestamp: '2026-01-01T00:00:00Z' }),
      undefined,
    ],
  ])('Pod: %s', (_name, object, url) => {
    validateObject(object);
    expect(fromPod(object).target?.url).toBe(url);
  });
});
