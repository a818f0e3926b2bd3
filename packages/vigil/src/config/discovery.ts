/**
 * The `discovery:` section of `vigil.yaml` (a key of `config/schema.ts`): where targets come from
 * besides the file, as Prometheus' `kubernetes_sd_configs` finds scrape targets. The config layer owns
 * the schema so that `vigil validate` checks it with the rest of the file; the watching lives in
 * `src/discovery/`, and each discovered target is validated by `config/discovered.ts` with the same
 * schema as a hand-written one.
 *
 * ```yaml
 * discovery:
 *   kubernetes:
 *     namespaces: [ml, risk]                     # default: every namespace
 *     inferenceServices: true                    # KServe InferenceServices (or { selector: "team=risk" })
 *     services: { selector: "vigil.dev/probe=true" }   # Services with vigil.dev/* annotations
 *     pods: { selector: "app=vllm" }              # Pods, each its own target (pod IP)
 * ```
 */
import { z } from 'zod';
import { kubeClientShape } from '../actions/kubernetes.js';
import { GOT } from '../diagnostics/messages.js';

const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * A Kubernetes label selector as `kubectl -l` takes it (`app=vllm,tier!=canary`, `env in (a,b)`):
 * checked only for being one line of text here; the API server parses it and rejects a bad one, which
 * the watch then logs.
 */
const selectorSchema = z
  .string({ error: `expected a label selector like "app=vllm", got ${GOT}` })
  .min(1, { error: 'must not be empty (a selector that matches everything would probe every Service)' })
  .regex(/^[^\n\r]*$/, { error: 'expected one line' })
  .describe('A label selector, as kubectl -l takes it: "app=vllm,tier!=canary".');

const selected = (what: string) =>
  z
    .strictObject({ selector: selectorSchema })
    .describe(
      `${what} whose labels match selector, each a target described by its vigil.dev/* annotations (README, "Kubernetes discovery").`,
    );

/** The `discovery.kubernetes` block. */
export const kubernetesDiscoverySchema = z
  .strictObject({
    namespaces: z
      .array(z.string().regex(NAMESPACE, { error: `expected a Kubernetes namespace name, got ${GOT}` }))
      .min(1, { error: 'list at least one namespace, or leave namespaces out to watch every namespace' })
      .optional()
      .describe('Namespaces to watch. Default: every namespace (needs a ClusterRole).'),
    ...kubeClientShape,
    inferenceServices: z
      .union([z.boolean(), z.strictObject({ selector: selectorSchema })])
      .default(false)
      .describe(
        'KServe InferenceServices (serving.kserve.io/v1beta1): true for all, { selector } for those matching. Default false.',
      ),
    services: selected('Services').optional(),
    pods: selected('Pods').optional(),
  })
  .superRefine((k, ctx) => {
    if (k.inferenceServices === false && k.services === undefined && k.pods === undefined)
      ctx.addIssue({
        code: 'custom',
        path: [],
        message:
          'discovers nothing: set inferenceServices: true, services: { selector } or pods: { selector }',
      });
  })
  .describe('Targets from the Kubernetes API (KServe InferenceServices, annotated Services and Pods).');

/** The `discovery:` section. */
export const discoverySchema = z
  .strictObject({ kubernetes: kubernetesDiscoverySchema.optional() })
  .describe('Where targets come from besides this file.');

/** A validated `discovery.kubernetes` block. */
export type KubernetesDiscoveryConfig = z.output<typeof kubernetesDiscoverySchema>;
/** A validated `discovery:` section. */
export type DiscoveryConfig = z.output<typeof discoverySchema>;
