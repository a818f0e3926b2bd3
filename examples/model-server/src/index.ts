export { CHAR_LM_NAME, type CharLm, loadCharLm, trainCharLm } from './char-lm.js';
export {
  FAULT_MODES,
  FaultError,
  type FaultMode,
  type FaultParams,
  FaultState,
  GRPC_ERROR_STATUSES,
  type GrpcErrorStatus,
  grpcStatusOf,
  parseFault,
  parseFaultArg,
} from './faults.js';
export { type GrpcListenOptions, OIP_SERVICE } from './grpc.js';
export {
  createHostileEndpoints,
  type HostileEndpoint,
  type HostileEndpoints,
  type HostileKind,
  type HostileOptions,
} from './hostile.js';
export type { LlmOptions } from './llm.js';
export {
  type Datatype,
  loadModel,
  MODEL_NAMES,
  type Model,
  type ModelInfo,
  ModelInputError,
  type ModelName,
  type Tensor,
  type TensorMetadata,
} from './models.js';
export { decodeInferenceRequest, InferenceRequestError, stringifyWithNonFinite } from './oip.js';
export {
  createModelServer,
  type ModelServer,
  type ModelServerOptions,
  SERVER_NAME,
  SERVER_VERSION,
} from './server.js';
