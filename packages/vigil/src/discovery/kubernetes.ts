/**
 * Kubernetes discovery: list + watch (client-node's informer, which relists after a `410 Gone`) of
 * KServe InferenceServices and of Services and Pods selected by label, in each configured namespace
 * (or cluster-wide), kept as a map of {@link Discovered} candidates. Every change (added, modified,
 * deleted) is coalesced for `debounceMs` and handed to `onChange` with the whole current set; the
 * caller merges it with the file's targets (`merge.ts`) and updates the hub's plan as a reload does.
 *
 * A watch that fails (API server unreachable, 403, the InferenceService CRD not installed) is logged
 * with its path and retried with back-off (1 s doubling to 30 s); the objects it had found stay until it
 * lists again, so an API server restart does not drop every discovered target.
 *
 * RBAC: `list` and `watch` on the watched kinds (`services`, `pods`, and
 * `inferenceservices.serving.kserve.io`) in the namespaces watched (`deploy/kustomize/base/rbac.yaml`).
 */
import type { KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { type KubeClientModule, kubeClientModule, loadKubeConfig } from '../actions/kubernetes.js';
import type { KubernetesDiscoveryConfig } from '../config/discovery.js';
import { type Discovered, type DiscoveredKind, FROM_OBJECT } from './objects.js';

/** The KServe API group, version and plural (CRD `inferenceservices.serving.kserve.io`). */
export const KSERVE = {
  group: 'serving.kserve.io',
  version: 'v1beta1',
  plural: 'inferenceservices',
} as const;

/** Options of {@link startKubernetesDiscovery}. */
export interface KubernetesDiscoveryOptions {
  /** Called with every current candidate after each (coalesced) change; also once every watch has listed. */
  onChange: (discovered: readonly Discovered[]) => void;
  /** Watch failures and retries. */
  log: (level: 'info' | 'warn', message: string) => void;
  /** Changes within this long are handed over together. Default 250 ms. */
  debounceMs?: number;
  /** First retry delay after a failed watch, doubling to 30 s. Default 1000 ms. */
  retryMs?: number;
}

/** Running discovery. */
export interface KubernetesDiscovery {
  /** The current candidates. */
  current(): Discovered[];
  stop(): Promise<void>;
}

interface Watched {
  kind: DiscoveredKind;
  path: string;
  selector: string | undefined;
  list: () => Promise<KubernetesListObject<KubernetesObject>>;
}

function watchedOf(config: KubernetesDiscoveryConfig, kc: KubeConfig, k8s: KubeClientModule): Watched[] {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const namespaces: (string | undefined)[] = config.namespaces ?? [undefined];
  const watched: Watched[] = [];
  for (const namespace of namespaces) {
    const ns = namespace === undefined ? '' : `/namespaces/${namespace}`;
    if (config.inferenceServices !== false) {
      const selector = config.inferenceServices === true ? undefined : config.inferenceServices.selector;
      const query = { ...KSERVE, ...(selector !== undefined && { labelSelector: selector }) };
      watched.push({
        kind: 'InferenceService',
        path: `/apis/${KSERVE.group}/${KSERVE.version}${ns}/${KSERVE.plural}`,
        selector,
        list: () =>
          namespace === undefined
            ? custom.listClusterCustomObject(query)
            : custom.listNamespacedCustomObject({ ...query, namespace }),
      });
    }
    if (config.services !== undefined) {
      const labelSelector = config.services.selector;
      watched.push({
        kind: 'Service',
        path: `/api/v1${ns}/services`,
        selector: labelSelector,
        list: () =>
          (namespace === undefined
            ? core.listServiceForAllNamespaces({ labelSelector })
            : core.listNamespacedService({ namespace, labelSelector })) as Promise<
            KubernetesListObject<KubernetesObject>
          >,
      });
    }
    if (config.pods !== undefined) {
      const labelSelector = config.pods.selector;
      watched.push({
        kind: 'Pod',
        path: `/api/v1${ns}/pods`,
        selector: labelSelector,
        list: () =>
          (namespace === undefined
            ? core.listPodForAllNamespaces({ labelSelector })
            : core.listNamespacedPod({ namespace, labelSelector })) as Promise<
            KubernetesListObject<KubernetesObject>
          >,
      });
    }
  }
  return watched;
}

/** One line for a failed list or watch: `HTTP 404: <the Status message>`, else the error's message. */
function errorText(error: unknown, status: number | undefined): string {
  if (status === undefined) return (error as Error).message;
  let message = '';
  const body = (error as { body?: unknown }).body;
  if (typeof body === 'string') {
    try {
      message = String((JSON.parse(body) as { message?: unknown }).message ?? '');
    } catch {
      message = body.slice(0, 200);
    }
  } else if (body !== null && typeof body === 'object')
    message = String((body as { message?: unknown }).message ?? '');
  return `HTTP ${status}${message === '' ? '' : `: ${message}`}`;
}

/**
 * Starts watching; resolves once every watch has made its first list attempt (a failed one is being
 * retried), after `onChange` has been called with what was listed.
 *
 * @throws Error when the kubeconfig cannot be loaded (a file that does not exist, a context it does
 *   not have); nothing is left running
 */
export async function startKubernetesDiscovery(
  config: KubernetesDiscoveryConfig,
  options: KubernetesDiscoveryOptions,
): Promise<KubernetesDiscovery> {
  // Imported here, not at the hub's start (see kubeClientModule).
  const k8s = await kubeClientModule();
  const kc = await loadKubeConfig(config);
  if (kc.getCurrentCluster() === null) throw new Error('the kubeconfig has no current cluster');

  const debounceMs = options.debounceMs ?? 250;
  const firstRetryMs = options.retryMs ?? 1000;
  const candidates = new Map<string, Discovered>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    timer = undefined;
    if (!stopped) options.onChange([...candidates.values()]);
  };
  const changed = () => {
    timer ??= setTimeout(flush, debounceMs);
  };

  const informers = watchedOf(config, kc, k8s).map((watched) => {
    const informer = k8s.makeInformer(kc, watched.path, watched.list, watched.selector);
    const toCandidate = FROM_OBJECT[watched.kind];
    const upsert = (object: KubernetesObject) => {
      const found = toCandidate(object);
      candidates.set(found.key, found);
      changed();
    };
    informer.on('add', upsert);
    informer.on('update', upsert);
    informer.on('delete', (object) => {
      candidates.delete(toCandidate(object).key);
      changed();
    });
    let retryMs = firstRetryMs;
    let retry: NodeJS.Timeout | undefined;
    informer.on('connect', () => {
      retryMs = firstRetryMs;
    });
    informer.on('error', (error: unknown) => {
      if (stopped) return;
      const status =
        (error as { code?: number; statusCode?: number }).code ??
        (error as { statusCode?: number }).statusCode;
      const hint =
        status === 404 && watched.kind === 'InferenceService'
          ? ' (is KServe installed? the InferenceService CRD is not served)'
          : status === 403
            ? ' (RBAC: the service account needs list and watch on it)'
            : '';
      options.log(
        'warn',
        `kubernetes discovery: watching ${watched.path} failed: ${errorText(error, status)}${hint}; retrying in ${retryMs} ms`,
      );
      retry = setTimeout(() => {
        retry = undefined;
        if (!stopped) informer.start().catch(() => {});
      }, retryMs);
      retry.unref();
      retryMs = Math.min(retryMs * 2, 30_000);
    });
    return { informer, cancel: () => clearTimeout(retry) };
  });

  await Promise.all(informers.map(({ informer }) => informer.start().catch(() => {})));
  if (timer !== undefined) {
    clearTimeout(timer);
    flush();
  } else options.onChange([...candidates.values()]);

  return {
    current: () => [...candidates.values()],
    async stop() {
      stopped = true;
      clearTimeout(timer);
      for (const { informer, cancel } of informers) {
        cancel();
        await informer.stop();
      }
    },
  };
}
