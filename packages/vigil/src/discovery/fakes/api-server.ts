/**
 * A local stand-in for the Kubernetes API server (none can run on this machine), for discovery tests:
 * it serves list and watch requests on the exact API paths (`GET <path>` → a `<Kind>List` with a
 * `resourceVersion`; `GET <path>?watch=true&resourceVersion=N` → a held-open stream of JSON lines
 * `{"type":"ADDED"|"MODIFIED"|"DELETED","object":{…}}`, written when the test says), records every
 * request, and checks every object it serves against the Kubernetes OpenAPI schemas
 * (`kubernetes-models`' validation) or, for InferenceServices, against the schema of the fields Vigil
 * reads (`discovery/objects.ts`, written from the KServe CRD). Test code only.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pod } from 'kubernetes-models/v1/Pod';
import { Service } from 'kubernetes-models/v1/Service';
import { inferenceServiceSchema } from '../objects.js';

/** One request the fake server saw. */
export interface SeenRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization: string | undefined;
}

type K8sObject = { kind: string; metadata: { name: string; namespace: string; resourceVersion?: string } };

/** Checks an object against its schema; throws with the schema's message when it does not fit. */
export function validateObject(object: unknown): void {
  const kind = (object as { kind?: string }).kind;
  if (kind === 'Service') new Service(object as never).validate();
  else if (kind === 'Pod') new Pod(object as never).validate();
  else if (kind === 'InferenceService') inferenceServiceSchema.parse(object);
  else throw new Error(`no schema for kind ${kind}`);
}

/** The fake API server. */
export interface FakeApiServer {
  url: string;
  /** A kubeconfig file pointing at it with bearer token `t0ken`. */
  kubeconfig: string;
  seen: SeenRequest[];
  /** Sets what a list of `path` returns (validated). */
  setList(path: string, items: unknown[]): void;
  /** Writes one watch event to every open watch of `path` (validated); resolves when written. */
  event(path: string, type: 'ADDED' | 'MODIFIED' | 'DELETED', object: unknown): void;
  /** How many watches of `path` are open. */
  watching(path: string): number;
  /** Makes lists of `path` answer this HTTP status (e.g. 404: CRD not installed) until reset with 200. */
  failList(path: string, status: number): void;
  close(): Promise<void>;
}

const LIST_KINDS: Record<string, string> = {
  services: 'ServiceList',
  pods: 'PodList',
  inferenceservices: 'InferenceServiceList',
};

/**
 * Writes a kubeconfig (in a new temporary folder) for an API server at `url` (plain HTTP, which
 * client-node allows only with insecure-skip-tls-verify), user token `t0ken`; returns its path.
 */
export function writeKubeconfig(url: string): string {
  const kubeconfig = join(mkdtempSync(join(tmpdir(), 'vigil-kube-')), 'kubeconfig');
  writeFileSync(
    kubeconfig,
    `apiVersion: v1
kind: Config
clusters:
- name: local
  cluster: {server: "${url}", insecure-skip-tls-verify: true}
users:
- name: vigil
  user: {token: "t0ken"}
contexts:
- name: local
  context: {cluster: local, user: vigil}
current-context: local
`,
  );
  return kubeconfig;
}

/** Starts the fake API server on a loopback port. */
export async function startFakeApiServer(): Promise<FakeApiServer> {
  const lists = new Map<string, unknown[]>();
  const failures = new Map<string, number>();
  const watches = new Map<string, Set<ServerResponse>>();
  const seen: SeenRequest[] = [];
  let version = 100;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const query = Object.fromEntries(url.searchParams);
    seen.push({
      method: req.method ?? '',
      path: url.pathname,
      query,
      authorization: req.headers.authorization,
    });
    const status = failures.get(url.pathname);
    if (status !== undefined && status !== 200 && query.watch !== 'true') {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          code: status,
          message: `fake ${status}`,
        }),
      );
      return;
    }
    if (query.watch === 'true') {
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      res.flushHeaders();
      const open = watches.get(url.pathname) ?? new Set();
      open.add(res);
      watches.set(url.pathname, open);
      res.on('close', () => open.delete(res));
      return;
    }
    const plural = url.pathname.split('/').at(-1) ?? '';
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        apiVersion: plural === 'inferenceservices' ? 'serving.kserve.io/v1beta1' : 'v1',
        kind: LIST_KINDS[plural] ?? 'List',
        metadata: { resourceVersion: String(version) },
        items: lists.get(url.pathname) ?? [],
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const kubeconfig = writeKubeconfig(url);
  return {
    url,
    kubeconfig,
    seen,
    setList(path, items) {
      for (const item of items) validateObject(item);
      lists.set(path, items);
    },
    event(path, type, object) {
      validateObject(object);
      version += 1;
      const o = object as K8sObject;
      const line = JSON.stringify({
        type,
        object: { ...o, metadata: { ...o.metadata, resourceVersion: String(version) } },
      });
      for (const res of watches.get(path) ?? []) res.write(`${line}\n`);
    },
    watching: (path) => watches.get(path)?.size ?? 0,
    failList(path, status) {
      failures.set(path, status);
    },
    async close() {
      for (const open of watches.values()) for (const res of open) res.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
