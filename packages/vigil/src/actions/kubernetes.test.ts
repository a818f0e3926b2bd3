import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Eviction } from 'kubernetes-models/policy/v1/Eviction';
import { Pod } from 'kubernetes-models/v1/Pod';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { writeKubeconfig } from '../discovery/fakes/api-server.js';
import type { TargetConfig } from '../types.js';
import {
  createKubernetesAction,
  kubernetesConfigSchema,
  RESTARTED_AT_ANNOTATION,
  rolloutRestartPatch,
} from './kubernetes.js';
import type { ActionContext } from './types.js';

interface Seen {
  method: string;
  path: string;
  contentType: string | undefined;
  authorization: string | undefined;
  body: unknown;
}

const deployment = () =>
  new Deployment({
    metadata: { name: 'scorer', namespace: 'ml' },
    spec: {
      selector: { matchLabels: { app: 'scorer' } },
      template: {
        metadata: { labels: { app: 'scorer' } },
        spec: { containers: [{ name: 'scorer', image: 'example/scorer:1' }] },
      },
    },
  }).toJSON();

const pod = (name: string, ip: string, ready: boolean) =>
  new Pod({
    metadata: { name, namespace: 'ml', labels: { app: 'scorer' } },
    spec: { containers: [{ name: 'scorer', image: 'example/scorer:1' }] },
    status: { podIP: ip, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  }).toJSON();

/** RFC 7386-style deep merge: what a strategic-merge patch of maps only (no lists) does. */
function merge(into: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...into };
  for (const [k, v] of Object.entries(patch)) {
    const cur = out[k];
    out[k] =
      v !== null && typeof v === 'object' && !Array.isArray(v) && cur !== null && typeof cur === 'object'
        ? merge(cur as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? undefined : JSON.parse(text);
}

let server: Server;
let seen: Seen[];
let evictionStatus = 201;
let pods: unknown[];
let kubeconfig: string;

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const body = await readBody(req);
    seen.push({
      method: req.method ?? '',
      path: `${url.pathname}${url.search}`,
      contentType: req.headers['content-type'],
      authorization: req.headers.authorization,
      body,
    });
    const send = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    try {
      if (req.method === 'PATCH' && url.pathname === '/apis/apps/v1/namespaces/ml/deployments/scorer') {
        const patched = merge(deployment() as Record<string, unknown>, body as Record<string, unknown>);
        new Deployment(patched as never).validate();
        return send(200, patched);
      }
      if (req.method === 'GET' && url.pathname === '/api/v1/namespaces/ml/pods') {
        // The API server's field selector on status.podIP, as it filters.
        const ip = url.searchParams.get('fieldSelector')?.replace(/^status\.podIP=/, '');
        const items = pods.filter(
          (p) => ip === undefined || (p as { status: { podIP: string } }).status.podIP === ip,
        );
        return send(200, { apiVersion: 'v1', kind: 'PodList', metadata: {}, items });
      }
      if (req.method === 'POST' && url.pathname === '/api/v1/namespaces/ml/pods/scorer-2/eviction') {
        new Eviction(body as never).validate();
        if (evictionStatus === 429)
          return send(429, {
            apiVersion: 'v1',
            kind: 'Status',
            status: 'Failure',
            message: "Cannot evict pod as it would violate the pod's disruption budget.",
            reason: 'TooManyRequests',
            code: 429,
          });
        return send(201, body);
      }
      if (req.method === 'DELETE' && url.pathname === '/api/v1/namespaces/ml/pods/scorer-2')
        return send(200, pods[1]);
      send(404, {
        kind: 'Status',
        status: 'Failure',
        code: 404,
        message: `no route ${req.method} ${url.pathname}`,
      });
    } catch (error) {
      send(422, {
        kind: 'Status',
        status: 'Failure',
        code: 422,
        message: `schema: ${(error as Error).message}`,
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  kubeconfig = writeKubeconfig(`http://127.0.0.1:${port}`);
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  seen = [];
  evictionStatus = 201;
  pods = [pod('scorer-1', '10.0.0.1', true), pod('scorer-2', '10.0.0.2', false)];
});

const target: TargetConfig = {
  name: 'scorer',
  url: 'http://10.0.0.9:8080',
  protocol: 'oip-v2',
  labels: {},
  headers: {},
  maxBodyBytes: 1,
  maxRedirects: 0,
};

function context(url = target.url): ActionContext {
  return {
    signal: new AbortController().signal,
    idempotencyKey: 'key',
    transition: {
      event: 'unhealthy',
      checkId: 'scorer/liveness',
      target: 'scorer',
      check: 'liveness',
      region: 'local',
      from: 'healthy',
      to: 'unhealthy',
      reason: '3 consecutive failures',
      at: Date.UTC(2026, 0, 2, 3, 4, 5, 678),
      incidentId: 'inc',
    },
    target: { ...target, url },
    now: () => Date.UTC(2026, 0, 2, 3, 4, 5, 678),
  };
}

const action = (block: Record<string, unknown>) =>
  createKubernetesAction({
    ...kubernetesConfigSchema.parse({ kind: 'kubernetes', namespace: 'ml', kubeconfig, ...block }),
    name: 'k8s',
    escalateAfterMs: 1000,
  });

describe('kubernetes action (real client, local API stand-in)', () => {
  it('rollout-restart sends kubectl rollout restart’s strategic-merge patch, valid on the Deployment', async () => {
    const outcome = await action({ operation: 'rollout-restart', deployment: 'scorer' }).run(context());
    expect(outcome).toEqual({ result: 'succeeded', output: 'deployment/scorer restarted (namespace ml)' });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      method: 'PATCH',
      path: '/apis/apps/v1/namespaces/ml/deployments/scorer',
      contentType: 'application/strategic-merge-patch+json',
      authorization: 'Bearer t0ken',
    });
    expect(seen[0]?.body).toEqual({
      spec: {
        template: { metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: '2026-01-02T03:04:05Z' } } },
      },
    });
    expect(seen[0]?.body).toEqual(rolloutRestartPatch(context().now()));
  });

  it('evict-pod lists by selector, picks the pod not Ready, POSTs a valid policy/v1 Eviction', async () => {
    const outcome = await action({ operation: 'evict-pod', selector: { app: 'scorer' } }).run(context());
    expect(outcome).toEqual({ result: 'succeeded', output: 'pod/scorer-2 evicted (namespace ml)' });
    expect(seen.map((s) => `${s.method} ${s.path}`)).toEqual([
      'GET /api/v1/namespaces/ml/pods?labelSelector=app%3Dscorer',
      'POST /api/v1/namespaces/ml/pods/scorer-2/eviction',
    ]);
    expect(seen[1]?.body).toEqual({
      apiVersion: 'policy/v1',
      kind: 'Eviction',
      metadata: { name: 'scorer-2', namespace: 'ml' },
    });
  });

  it('a 429 from the Eviction API is the PodDisruptionBudget refusing: refused, not forced', async () => {
    evictionStatus = 429;
    const outcome = await action({ operation: 'evict-pod', selector: { app: 'scorer' } }).run(context());
    expect(outcome.result).toBe('refused');
    expect(outcome.output).toContain('PodDisruptionBudget');
    expect(seen.filter((s) => s.method === 'DELETE')).toEqual([]);
  });

  it('without a selector, the pod behind the target’s address (fieldSelector status.podIP); delete-pod', async () => {
    pods = [pod('scorer-1', '10.0.0.1', true), pod('scorer-2', '10.0.0.2', true)];
    const outcome = await action({ operation: 'delete-pod' }).run(context('http://10.0.0.2:8080'));
    expect(seen.map((s) => `${s.method} ${s.path}`)).toEqual([
      'GET /api/v1/namespaces/ml/pods?fieldSelector=status.podIP%3D10.0.0.2',
      'DELETE /api/v1/namespaces/ml/pods/scorer-2',
    ]);
    expect(outcome).toEqual({ result: 'succeeded', output: 'pod/scorer-2 deleted (namespace ml)' });
  });

  it('several Ready pods and none behind the address: refuses to pick one at random', async () => {
    pods = [pod('scorer-1', '10.0.0.1', true), pod('scorer-2', '10.0.0.2', true)];
    const outcome = await action({ operation: 'evict-pod', selector: { app: 'scorer' } }).run(context());
    expect(outcome.result).toBe('refused');
    expect(outcome.output).toContain('not choosing one at random');
    expect(seen.some((s) => s.method === 'POST')).toBe(false);
  });

  it('the stand-in rejects a body the schema rejects (the check can fail)', () => {
    expect(() =>
      new Eviction({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 7 } } as never).validate(),
    ).toThrow();
  });
});
