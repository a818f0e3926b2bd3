/**
 * Kubernetes objects → targets as the config file would hold them (not yet validated: that is
 * `config/discovered.ts`, with the file's schema). Pure functions, no I/O.
 *
 * - **KServe InferenceService** (`serving.kserve.io/v1beta1`): URL from the predictor's status
 *   (`status.components.predictor.address.url`, else its `url`, else the service's `status.address.url`
 *   / `status.url`); protocol from the predictor's `protocolVersion` (`v1` → `kserve-v1`, `v2` →
 *   `oip-v2`, `grpc-v2` → `oip-grpc` with the predictor's `grpcUrl`; default `v1`, as KServe's); model
 *   name the InferenceService's name (KServe's runtimes serve the model under it). The fields read,
 *   and their source in the KServe CRD, are {@link inferenceServiceSchema}. One without a URL in its
 *   status yet (not ready) is no target yet.
 * - **Service** selected by label: `<scheme>://<name>.<namespace>.svc:<port><path>`.
 * - **Pod** selected by label, each its own target: `<scheme>://<podIP>:<port><path>`; a pod without
 *   an IP, not Running, or being deleted is no target.
 *
 * The annotations ({@link ANNOTATIONS}) override or add: `vigil.dev/protocol`, `vigil.dev/model`,
 * `vigil.dev/name` (default `<namespace>.<name>`), `vigil.dev/port` (a port's name or number; default
 * the only port), `vigil.dev/scheme` (default `http`, `grpc` for oip-grpc), `vigil.dev/path` (a base
 * path), `vigil.dev/checks` (the target's `checks:` block as YAML or JSON) and `vigil.dev/target` (any
 * other target keys, as YAML or JSON: `{ timeout: 1s, labels: { team: risk } }`).
 */
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/** The annotation keys Vigil reads on Services, Pods and InferenceServices. */
export const ANNOTATIONS = {
  protocol: 'vigil.dev/protocol',
  model: 'vigil.dev/model',
  name: 'vigil.dev/name',
  port: 'vigil.dev/port',
  scheme: 'vigil.dev/scheme',
  path: 'vigil.dev/path',
  checks: 'vigil.dev/checks',
  target: 'vigil.dev/target',
} as const;

/** The kinds discovery watches. */
export type DiscoveredKind = 'InferenceService' | 'Service' | 'Pod';

/** One watched object, as a target candidate. */
export interface Discovered {
  /** `<kind>/<namespace>/<name>`: stable while the object lives. */
  key: string;
  /** How diagnostics name the object: `Service ml/scorer`. */
  source: string;
  /** The target as the file would hold it, when the object is one (now). */
  target?: Record<string, unknown>;
  /**
   * Where each top-level key of `target` came from: an annotation key (`vigil.dev/checks`) or a field
   * of the object (`status.components.predictor.address.url`). A problem with that key names it.
   */
  origins: Record<string, string>;
  /** Problems met before validation (an annotation that is not YAML, a port that does not exist). */
  problems: string[];
}

const urlField = z.string().min(1).optional();
const addressable = z.looseObject({ url: urlField }).optional();
const protocolVersion = z.enum(['v1', 'v2', 'grpc-v1', 'grpc-v2']).optional();
const withProtocol = z.looseObject({ protocolVersion }).optional();

/**
 * The fields of a KServe InferenceService that Vigil reads, and nothing else (other fields pass
 * through unread). Written from the KServe CRD, `config/crd/full/serving.kserve.io_inferenceservices.yaml`
 * (group `serving.kserve.io`, version `v1beta1`), whose Go source is
 * `pkg/apis/serving/v1beta1/inference_service_status.go` (`InferenceServiceStatus`: `url`, `address`,
 * `components[predictor]` a `ComponentStatusSpec` with `url`, `restUrl`, `grpcUrl`, `address`) and
 * `predictor.go` / `component.go` (`PredictorSpec.model` a `ModelSpec` whose `PredictorExtensionSpec`
 * has `protocolVersion`, one of `v1`, `v2`, `grpc-v1`, `grpc-v2` — `constants.InferenceServiceProtocol`;
 * the older per-framework fields such as `sklearn` carry the same `protocolVersion`).
 */
export const inferenceServiceSchema = z.looseObject({
  apiVersion: z.literal('serving.kserve.io/v1beta1'),
  kind: z.literal('InferenceService'),
  metadata: z.looseObject({
    name: z.string().min(1),
    namespace: z.string().min(1),
    annotations: z.record(z.string(), z.string()).optional(),
  }),
  spec: z.looseObject({
    predictor: z.looseObject({ model: withProtocol }).catchall(z.unknown()),
  }),
  status: z
    .looseObject({
      url: urlField,
      address: addressable,
      components: z
        .looseObject({
          predictor: z
            .looseObject({ url: urlField, restUrl: urlField, grpcUrl: urlField, address: addressable })
            .optional(),
        })
        .optional(),
    })
    .optional(),
});

/** The KServe protocolVersion → Vigil's protocol (KServe's default is v1). */
const KSERVE_PROTOCOLS: Readonly<Record<string, string>> = {
  v1: 'kserve-v1',
  v2: 'oip-v2',
  'grpc-v2': 'oip-grpc',
};

/** The predictor's protocolVersion: of `model`, else of the framework field that has one. */
function predictorProtocol(predictor: Record<string, unknown>): string {
  const model = predictor.model as { protocolVersion?: string } | undefined;
  if (model?.protocolVersion !== undefined) return model.protocolVersion;
  for (const value of Object.values(predictor)) {
    const version = (value as { protocolVersion?: unknown } | null)?.protocolVersion;
    if (typeof value === 'object' && typeof version === 'string') return version;
  }
  return 'v1';
}

interface Meta {
  name: string;
  namespace: string;
  annotations: Record<string, string>;
}

function metaOf(object: unknown): Meta {
  const metadata = ((object as { metadata?: Record<string, unknown> })?.metadata ?? {}) as {
    name?: string;
    namespace?: string;
    annotations?: Record<string, string> | null;
  };
  return {
    name: metadata.name ?? '',
    namespace: metadata.namespace ?? '',
    annotations: metadata.annotations ?? {},
  };
}

/** Starts a {@link Discovered} for an object, with the annotation-given keys filled in. */
function begin(kind: DiscoveredKind, meta: Meta): Discovered {
  const found: Discovered = {
    key: `${kind}/${meta.namespace}/${meta.name}`,
    source: `${kind} ${meta.namespace}/${meta.name}`,
    target: {},
    origins: {},
    problems: [],
  };
  const a = meta.annotations;
  const extra = yamlAnnotation(a, ANNOTATIONS.target, found.problems);
  if (extra !== undefined)
    for (const [key, value] of Object.entries(extra)) set(found, key, value, ANNOTATIONS.target);
  set(
    found,
    'name',
    a[ANNOTATIONS.name] ?? `${meta.namespace}.${meta.name}`,
    a[ANNOTATIONS.name] === undefined ? 'metadata.name' : ANNOTATIONS.name,
  );
  set(
    found,
    'labels',
    { ...((extra?.labels as object) ?? {}), namespace: meta.namespace, kind: kind.toLowerCase() },
    extra?.labels === undefined ? 'metadata' : ANNOTATIONS.target,
  );
  if (a[ANNOTATIONS.protocol] !== undefined)
    set(found, 'protocol', a[ANNOTATIONS.protocol], ANNOTATIONS.protocol);
  if (a[ANNOTATIONS.model] !== undefined) set(found, 'model', a[ANNOTATIONS.model], ANNOTATIONS.model);
  const checks = yamlAnnotation(a, ANNOTATIONS.checks, found.problems);
  if (checks !== undefined) set(found, 'checks', checks, ANNOTATIONS.checks);
  return found;
}

function set(found: Discovered, key: string, value: unknown, origin: string): void {
  found.target ??= {};
  found.target[key] = value;
  found.origins[key] = origin;
}

/** An annotation holding a YAML (or JSON) mapping; a problem, naming the key, when it is not one. */
function yamlAnnotation(
  annotations: Record<string, string>,
  key: string,
  problems: string[],
): Record<string, unknown> | undefined {
  const text = annotations[key];
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = parseYaml(text, { maxAliasCount: 0 });
  } catch (error) {
    problems.push(`annotation ${key}: not YAML or JSON: ${(error as Error).message.split('\n')[0]}`);
    return undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    problems.push(
      `annotation ${key}: expected a mapping like "{ liveness: {} }", got ${JSON.stringify(text.slice(0, 60))}`,
    );
    return undefined;
  }
  return value as Record<string, unknown>;
}

/** A base path from `vigil.dev/path`: `""` or `/…` without a trailing slash. */
function basePath(annotations: Record<string, string>, problems: string[]): string {
  const path = annotations[ANNOTATIONS.path];
  if (path === undefined || path === '' || path === '/') return '';
  if (!path.startsWith('/')) {
    problems.push(
      `annotation ${ANNOTATIONS.path}: expected a path starting with "/", got ${JSON.stringify(path)}`,
    );
    return '';
  }
  return path.replace(/\/+$/, '');
}

function schemeOf(annotations: Record<string, string>, protocol: unknown): string {
  return annotations[ANNOTATIONS.scheme] ?? (protocol === 'oip-grpc' ? 'grpc' : 'http');
}

interface PortLike {
  name?: string;
  port?: number;
  containerPort?: number;
}

/** The port named by `vigil.dev/port`, else the only one; a problem naming the annotation otherwise. */
function choosePort(
  annotations: Record<string, string>,
  ports: readonly PortLike[],
  problems: string[],
): number | undefined {
  const wanted = annotations[ANNOTATIONS.port];
  const number = (p: PortLike) => p.port ?? p.containerPort;
  const listed = ports.map((p) => (p.name ? `${p.name} (${number(p)})` : String(number(p)))).join(', ');
  if (wanted === undefined) {
    const [only, other] = ports;
    if (only !== undefined && other === undefined) return number(only);
    problems.push(
      `annotation ${ANNOTATIONS.port}: required: ${ports.length === 0 ? 'no port is declared' : `there are ${ports.length} ports (${listed})`}; name the one to probe`,
    );
    return undefined;
  }
  const byName = ports.find((p) => p.name === wanted);
  if (byName !== undefined) return number(byName);
  if (/^\d{1,5}$/.test(wanted)) {
    const n = Number(wanted);
    if (n >= 1 && n <= 65535 && (ports.length === 0 || ports.some((p) => number(p) === n))) return n;
  }
  problems.push(
    `annotation ${ANNOTATIONS.port}: no port ${JSON.stringify(wanted)}${ports.length > 0 ? `; the ports are ${listed}` : ''}`,
  );
  return undefined;
}

/** An InferenceService as a target candidate. */
export function fromInferenceService(object: unknown): Discovered {
  const meta = metaOf(object);
  const found = begin('InferenceService', meta);
  const parsed = inferenceServiceSchema.safeParse(object);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    found.problems.push(
      `${issue?.path.join('.') || 'object'}: ${issue?.message ?? 'not an InferenceService'} (the fields Vigil reads of serving.kserve.io/v1beta1)`,
    );
    delete found.target;
    return found;
  }
  const isvc = parsed.data;
  const version = predictorProtocol(isvc.spec.predictor);
  if (found.target?.protocol === undefined) {
    const protocol = KSERVE_PROTOCOLS[version];
    if (protocol === undefined) {
      found.problems.push(
        `spec.predictor protocolVersion ${JSON.stringify(version)} has no Vigil protocol; set annotation ${ANNOTATIONS.protocol}`,
      );
      return found;
    }
    set(found, 'protocol', protocol, 'spec.predictor.protocolVersion');
  }
  if (found.target?.model === undefined) set(found, 'model', meta.name, 'metadata.name');
  const predictor = isvc.status?.components?.predictor;
  const candidates: [string, string | undefined][] =
    found.target?.protocol === 'oip-grpc'
      ? [['status.components.predictor.grpcUrl', predictor?.grpcUrl]]
      : [
          ['status.components.predictor.address.url', predictor?.address?.url],
          ['status.components.predictor.url', predictor?.url],
          ['status.address.url', isvc.status?.address?.url],
          ['status.url', isvc.status?.url],
        ];
  const url = candidates.find(([, value]) => value !== undefined);
  if (url === undefined) {
    // Not ready yet: KServe writes the URLs once the predictor is routable. Not a problem.
    delete found.target;
    return found;
  }
  set(
    found,
    'url',
    `${(url[1] as string).replace(/\/+$/, '')}${basePath(meta.annotations, found.problems)}`,
    url[0],
  );
  return found;
}

interface ServiceLike {
  spec?: { ports?: PortLike[] | null } | null;
}

/** A Service selected by label as a target candidate: `<scheme>://<name>.<namespace>.svc:<port>`. */
export function fromService(object: unknown): Discovered {
  const meta = metaOf(object);
  const found = begin('Service', meta);
  const port = choosePort(meta.annotations, (object as ServiceLike).spec?.ports ?? [], found.problems);
  if (port === undefined) return found;
  const scheme = schemeOf(meta.annotations, found.target?.protocol);
  set(
    found,
    'url',
    `${scheme}://${meta.name}.${meta.namespace}.svc:${port}${basePath(meta.annotations, found.problems)}`,
    'spec.ports',
  );
  return found;
}

interface PodLike {
  metadata?: { deletionTimestamp?: unknown };
  spec?: { containers?: { ports?: PortLike[] | null }[] | null } | null;
  status?: { podIP?: string; phase?: string } | null;
}

/** A Pod selected by label as a target candidate: `<scheme>://<podIP>:<port>`; none while it has no IP. */
export function fromPod(object: unknown): Discovered {
  const meta = metaOf(object);
  const found = begin('Pod', meta);
  const pod = object as PodLike;
  const ip = pod.status?.podIP;
  if (
    ip === undefined ||
    ip === '' ||
    pod.status?.phase !== 'Running' ||
    pod.metadata?.deletionTimestamp != null
  ) {
    delete found.target;
    return found;
  }
  const ports = (pod.spec?.containers ?? []).flatMap((c) => c.ports ?? []);
  const port = choosePort(meta.annotations, ports, found.problems);
  if (port === undefined) return found;
  const scheme = schemeOf(meta.annotations, found.target?.protocol);
  const host = ip.includes(':') ? `[${ip}]` : ip;
  set(
    found,
    'url',
    `${scheme}://${host}:${port}${basePath(meta.annotations, found.problems)}`,
    'status.podIP',
  );
  return found;
}

/** Each kind's translation. */
export const FROM_OBJECT: Readonly<Record<DiscoveredKind, (object: unknown) => Discovered>> = {
  InferenceService: fromInferenceService,
  Service: fromService,
  Pod: fromPod,
};
