/**
 * The `kubernetes` action, on @kubernetes/client-node (in-cluster config, or a kubeconfig):
 *
 * - `rollout-restart` of a Deployment or StatefulSet: the strategic-merge patch `kubectl rollout
 *   restart` sends, `{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":
 *   "<RFC 3339>"}}}}}` with `Content-Type: application/strategic-merge-patch+json`; the controller then
 *   replaces the pods by its own rollout strategy (maxUnavailable holds).
 * - `evict-pod`: the Eviction API (`policy/v1`, POST `…/pods/<name>/eviction`), which respects
 *   PodDisruptionBudgets: a 429 is the budget refusing, reported as `refused`, never forced.
 * - `delete-pod`: DELETE the pod (no budget is consulted: prefer `evict-pod`).
 *
 * The pod: with `selector`, the pods matching it in `namespace` (not being deleted); of several, the one
 * behind the target's address (its `status.podIP` is the host of the target's URL), else the only one
 * not Ready, else none (refused: the action does not pick a replica at random). Without `selector`,
 * the pod whose IP is the target URL's host (`fieldSelector=status.podIP=<host>`).
 *
 * RBAC: the Role in the README ("Recovery actions") grants exactly these verbs: `patch` on
 * deployments/statefulsets, `list` on pods, `create` on pods/eviction, `delete` on pods.
 */
import type { AppsV1Api, CoreV1Api, KubeConfig, V1Pod } from '@kubernetes/client-node';
import { z } from 'zod';
import { parseDuration } from '../diagnostics/duration.js';
import type { ActionStepConfig } from '../types.js';
import { duration, stepShape } from './step.js';
import type { Action, ActionContext, ActionOutcome, ActionPlugin } from './types.js';

/** The annotation `kubectl rollout restart` sets on the pod template (kubectl/pkg/polymorphichelpers/objectrestarter.go). */
export const RESTARTED_AT_ANNOTATION = 'kubectl.kubernetes.io/restartedAt';

const OPERATIONS = ['rollout-restart', 'evict-pod', 'delete-pod'] as const;
const K8S_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const k8sName = (what: string) =>
  z.string().regex(K8S_NAME, { error: `expected a Kubernetes ${what} name (lower case, digits, "-", ".")` });

/**
 * How Vigil finds the Kubernetes API, shared by this action and discovery (`config/discovery.ts`):
 * `kubeconfig` (default `$KUBECONFIG`, `~/.kube/config`, else in-cluster) and `context`.
 */
export const kubeClientShape = {
  kubeconfig: z
    .string()
    .min(1)
    .optional()
    .describe('A kubeconfig file; default $KUBECONFIG, ~/.kube/config or in-cluster.'),
  context: z.string().min(1).optional().describe('The kubeconfig context; default its current one.'),
};

/** The @kubernetes/client-node module. */
export type KubeClientModule = typeof import('@kubernetes/client-node');
let kubeClient: Promise<KubeClientModule> | undefined;
/** The module once its import resolved (for `instanceof` in {@link apiError}). */
let loadedKubeClient: KubeClientModule | undefined;

/**
 * @kubernetes/client-node, imported at its first use (a kubernetes action's run, discovery's start),
 * not when the config schema is: a fresh `vigil run` without either held ~65 MB more RSS with it
 * (the module's source text and compiled code), and took ~0.4 s longer to start.
 */
export function kubeClientModule(): Promise<KubeClientModule> {
  kubeClient ??= import('@kubernetes/client-node').then((m) => {
    loadedKubeClient = m;
    return m;
  });
  return kubeClient;
}

/**
 * A KubeConfig from {@link kubeClientShape}'s fields: the file, else the default chain; then the context.
 *
 * @throws Error from client-node when the file cannot be read or has no such context
 */
export async function loadKubeConfig(options: {
  kubeconfig?: string | undefined;
  context?: string | undefined;
}): Promise<KubeConfig> {
  const { KubeConfig } = await kubeClientModule();
  const kc = new KubeConfig();
  if (options.kubeconfig !== undefined) kc.loadFromFile(options.kubeconfig);
  else kc.loadFromDefault();
  if (options.context !== undefined) kc.setCurrentContext(options.context);
  return kc;
}

export const kubernetesConfigSchema = z
  .strictObject({
    ...stepShape('kubernetes'),
    operation: z
      .enum(OPERATIONS)
      .describe('rollout-restart, evict-pod (Eviction API, respects PDBs) or delete-pod.'),
    namespace: k8sName('namespace').default('default').describe('Namespace. Default "default".'),
    deployment: k8sName('Deployment').optional().describe('rollout-restart: the Deployment.'),
    statefulSet: k8sName('StatefulSet')
      .optional()
      .describe('rollout-restart: the StatefulSet (instead of deployment).'),
    selector: z
      .record(z.string().min(1), z.string())
      .optional()
      .describe(
        "evict-pod/delete-pod: label selector of the pods; default the pod behind the target's address.",
      ),
    ...kubeClientShape,
    timeout: duration('30s', 'Give up on the API call after this long. Default 30s.').default('30s'),
  })
  .superRefine((c, ctx) => {
    if (c.operation === 'rollout-restart') {
      if (c.deployment === undefined && c.statefulSet === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['deployment'],
          message:
            'required for operation "rollout-restart": the Deployment to restart (or statefulSet: <name>)',
        });
      if (c.deployment !== undefined && c.statefulSet !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['statefulSet'],
          message: 'takes deployment or statefulSet, not both',
        });
      if (c.selector !== undefined)
        ctx.addIssue({ code: 'custom', path: ['selector'], message: 'is for evict-pod and delete-pod only' });
    } else {
      for (const key of ['deployment', 'statefulSet'] as const)
        if (c[key] !== undefined)
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: `is for rollout-restart only, not ${c.operation}`,
          });
    }
  })
  .meta({
    id: 'KubernetesAction',
    description: 'rollout-restart, evict-pod or delete-pod through the Kubernetes API.',
  });

export type KubernetesActionConfig = z.output<typeof kubernetesConfigSchema> & ActionStepConfig;

/** The strategic-merge patch of `kubectl rollout restart` at `now`. */
export function rolloutRestartPatch(now: number): Record<string, unknown> {
  // kubectl writes time.Now().Format(time.RFC3339): whole seconds.
  const at = new Date(Math.floor(now / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  return { spec: { template: { metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: at } } } } };
}

function hostOf(url: string): string {
  return new URL(url).hostname.replace(/^\[|\]$/g, '');
}

const isReady = (pod: V1Pod) =>
  pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

function selectorText(selector: Record<string, string>): string {
  return Object.entries(selector)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

function apiError(error: unknown): { code: number | undefined; text: string } {
  // Only client-node's API calls throw its ApiException, so it is loaded by then.
  if (loadedKubeClient !== undefined && error instanceof loadedKubeClient.ApiException) {
    const body = error.body as { message?: string } | string | undefined;
    const message = typeof body === 'string' ? body : (body?.message ?? '');
    return { code: error.code, text: `HTTP ${error.code}${message ? `: ${message}` : ''}` };
  }
  return { code: undefined, text: (error as Error).message };
}

/** Creates a kubernetes action. The kubeconfig is read at its first run, not here. */
export function createKubernetesAction(config: KubernetesActionConfig): Action {
  const timeoutMs = parseDuration(config.timeout);
  const ns = config.namespace;
  let clients: { core: CoreV1Api; apps: AppsV1Api } | undefined;
  const api = async () => {
    if (clients === undefined) {
      const { AppsV1Api, CoreV1Api } = await kubeClientModule();
      const kc = await loadKubeConfig(config);
      clients = { core: kc.makeApiClient(CoreV1Api), apps: kc.makeApiClient(AppsV1Api) };
    }
    return clients;
  };

  async function choosePod(context: Pick<ActionContext, 'target'>): Promise<V1Pod | string> {
    const host = hostOf(context.target.url);
    if (config.selector === undefined) {
      const list = await (await api()).core.listNamespacedPod({
        namespace: ns,
        fieldSelector: `status.podIP=${host}`,
      });
      const pods = list.items.filter((p) => p.metadata?.deletionTimestamp == null);
      return pods[0] ?? `no pod in namespace ${ns} has the target's address ${host}`;
    }
    const labelSelector = selectorText(config.selector);
    const list = await (await api()).core.listNamespacedPod({ namespace: ns, labelSelector });
    const pods = list.items.filter((p) => p.metadata?.deletionTimestamp == null);
    if (pods.length === 0) return `no pod in namespace ${ns} matches ${labelSelector}`;
    const behind = pods.find((p) => p.status?.podIP === host);
    if (behind !== undefined) return behind;
    if (pods.length === 1) return pods[0] as V1Pod;
    const notReady = pods.filter((p) => !isReady(p));
    if (notReady.length === 1) return notReady[0] as V1Pod;
    return `${pods.length} pods match ${labelSelector} and none is behind ${host} or the only one not Ready: not choosing one at random`;
  }

  async function perform(context: ActionContext): Promise<ActionOutcome> {
    if (config.operation === 'rollout-restart') {
      const body = rolloutRestartPatch(context.now());
      const { setHeaderOptions, PatchStrategy } = await kubeClientModule();
      const options = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
      if (config.deployment !== undefined) {
        await (await api()).apps.patchNamespacedDeployment(
          { name: config.deployment, namespace: ns, body },
          options,
        );
        return { result: 'succeeded', output: `deployment/${config.deployment} restarted (namespace ${ns})` };
      }
      const name = config.statefulSet as string;
      await (await api()).apps.patchNamespacedStatefulSet({ name, namespace: ns, body }, options);
      return { result: 'succeeded', output: `statefulset/${name} restarted (namespace ${ns})` };
    }
    const pod = await choosePod(context);
    if (typeof pod === 'string') return { result: 'refused', output: pod };
    const name = pod.metadata?.name as string;
    if (config.operation === 'evict-pod') {
      try {
        await (await api()).core.createNamespacedPodEviction({
          name,
          namespace: ns,
          body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: ns } },
        });
      } catch (error) {
        const { code, text } = apiError(error);
        if (code === 429)
          return {
            result: 'refused',
            output: `eviction of pod/${name} refused (PodDisruptionBudget): ${text}`,
          };
        throw error;
      }
      return { result: 'succeeded', output: `pod/${name} evicted (namespace ${ns})` };
    }
    await (await api()).core.deleteNamespacedPod({ name, namespace: ns });
    return { result: 'succeeded', output: `pod/${name} deleted (namespace ${ns})` };
  }

  return {
    kind: 'kubernetes',
    name: config.name,
    describe: (context) => {
      if (config.operation === 'rollout-restart')
        return config.deployment !== undefined
          ? `kubectl rollout restart deployment/${config.deployment} -n ${ns}`
          : `kubectl rollout restart statefulset/${config.statefulSet} -n ${ns}`;
      const which =
        config.selector === undefined
          ? `the pod at ${hostOf(context.target.url)}`
          : `a pod of ${selectorText(config.selector)}`;
      return `${config.operation === 'evict-pod' ? 'evict' : 'delete'} ${which} -n ${ns}`;
    },
    async run(context) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<ActionOutcome>((resolve) => {
        timer = setTimeout(
          () =>
            resolve({
              result: 'failed',
              output: `no answer from the Kubernetes API within ${config.timeout}`,
            }),
          timeoutMs,
        );
      });
      try {
        return await Promise.race([
          perform(context).catch((error: unknown): ActionOutcome => {
            const { code, text } = apiError(error);
            const refused = code !== undefined && code >= 400 && code < 500 && code !== 408 && code !== 429;
            return { result: refused ? 'refused' : 'failed', output: `Kubernetes API: ${text}` };
          }),
          timeout,
        ]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** The `kubernetes` action plugin (registered in `index.ts`). */
export const kubernetesPlugin = {
  configSchema: kubernetesConfigSchema,
  create: createKubernetesAction,
} satisfies ActionPlugin<typeof kubernetesConfigSchema>;
