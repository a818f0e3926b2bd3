/**
 * Discovery: targets found outside the config file (Kubernetes: KServe InferenceServices, annotated
 * Services and Pods), validated with the file's schema and merged with its targets. The daemon starts
 * it and updates the hub's plan from it as a reload does.
 *
 * @module
 */
export {
  KSERVE,
  type KubernetesDiscovery,
  type KubernetesDiscoveryOptions,
  startKubernetesDiscovery,
} from './kubernetes.js';
export { type MergedTargets, mergeDiscovered } from './merge.js';
export {
  ANNOTATIONS,
  type Discovered,
  type DiscoveredKind,
  fromInferenceService,
  fromPod,
  fromService,
  inferenceServiceSchema,
} from './objects.js';
