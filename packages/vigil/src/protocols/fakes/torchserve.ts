/**
 * A fake TorchServe, from PROTOCOLS.md: an inference server (`GET /ping`, `POST /predictions/{m}[/{v}]`)
 * and a management server (`GET /models`, `GET /models/{m}[/{v}]` → an array of model descriptions with
 * `workers[].status`). Errors are TorchServe's `{"code", "type", "message"}`.
 *
 * `/ping` follows the release chosen by `pingStyle`, computed as TorchServe does with `health: 'auto'`
 * (pytorch/serve `frontend/server/src/main/java/org/pytorch/serve/util/ApiUtils.java` at 17aa5e39:
 * `isModelHealthy` lines 383–398, `getWorkerStatus` lines 359–381):
 * - `current` (`isModelHealthy`): 500 `{"status":"Unhealthy"}` when any model's default version has
 *   fewer *healthy* workers than its minWorkers, where a worker restarting within
 *   `maxRetryTimeoutInSec` counts as healthy (`RETRYING` here); else 200 `{"status":"Healthy"}`.
 * - `older` (`getWorkerStatus`, and `ModelManager.workerStatus` before it): always 200; it compares the
 *   *total* of running workers with the *total* of minWorkers across models: `Partial Healthy` when
 *   0 < running < total minWorkers, `Unhealthy` when none runs and some are wanted, else `Healthy` — so
 *   one short model is hidden by another with spare workers.
 * `minWorkers: 0` pings healthy with no worker at all.
 *
 * The management API shows a worker as `READY` when it runs and `UNLOADING` otherwise (those are the
 * only two: `http/messages/DescribeModelResponse.java` `addWorker`, `isRunning ? "READY" : "UNLOADING"`,
 * called at ApiUtils.java line 440), so a restarting worker is `UNLOADING` there. An unknown version
 * is `ModelVersionNotFoundException` (404 "Model version: X does not exist for model: m": `wlm/ModelManager.java`
 * `getModel`, called at `util/ApiUtils.java` line 86; 404 at `http/HttpRequestHandler.java` lines 46–51 at
 * 6cd98e1b); an unknown model `ModelNotFoundException` "Model not found: m" (ApiUtils.java lines 87–88). A
 * worker is running when `isRunning() && state == WORKER_MODEL_LOADED` (ApiUtils.java lines 434–435).
 */
import { type FakeReply, type FakeServer, startFakeServer, withNonFinite } from './server.js';

/** One registered model version. */
export interface TorchServeFakeModel {
  version: string;
  minWorkers: number;
  /**
   * One state per worker: `READY` (running), `RETRYING` (restarting within `maxRetryTimeoutInSec`:
   * shown as `UNLOADING`, counted healthy by the current `/ping`), `UNLOADING` (not running).
   */
  workers: Array<'READY' | 'UNLOADING' | 'RETRYING'>;
}

/** Switchable state of the TorchServe fake. */
export interface TorchServeFakeState {
  pingStyle: 'current' | 'older';
  health: 'auto' | 'Healthy' | 'Partial Healthy' | 'Unhealthy';
  models: Record<string, TorchServeFakeModel>;
  /** What a prediction answers (handler-defined JSON). */
  prediction: unknown;
  hang: boolean;
  /** Predictions are written with bare NaN tokens. */
  nan: boolean;
  /**
   * Token authorisation (on by default since 0.11; `torchserve --start` writes `key_file.json`): each API
   * takes only its own key as `Authorization: Bearer <key>`, `/ping` included; undefined = disabled, as
   * the official Docker entrypoint runs it (pytorch/serve `docs/token_authorization_api.md`; the header
   * read at `http/TokenAuthorizationHandler.java` line 69, its `^Bearer\s+(\S+)$` at
   * `util/TokenAuthorization.java` line 32, both at ead7b680).
   */
  tokens?: { inference: string; management: string };
}

/**
 * TorchServe's refusal of a missing or wrong key: `InvalidKeyException` from
 * `TokenAuthorizationHandler.checkTokenAuthorization` (pytorch/serve `frontend/server/src/main/java/org/
 * pytorch/serve/http/TokenAuthorizationHandler.java` at ead7b680, lines 67–79), a `ModelException` that
 * `HttpRequestHandler.channelRead0` answers as 400 (`http/HttpRequestHandler.java` at 6cd98e1b, lines
 * 52–54), the body `NettyUtils.sendError`'s `{code, type, message}` (`util/NettyUtils.java` at 1de522a5,
 * lines 101–106; `http/ErrorResponse.java` at 86596503, lines 17–19). TorchServe pretty-prints it; the
 * fields are what a client reads.
 */
const invalidKey: FakeReply = {
  status: 400,
  json: {
    code: 400,
    type: 'InvalidKeyException',
    message: 'Token Authorization failed. Token either incorrect, expired, or not provided correctly',
  },
};

/** A running TorchServe fake: `url` is the inference API, `managementUrl` the management API. */
export interface TorchServeFake extends FakeServer {
  readonly state: TorchServeFakeState;
  readonly managementUrl: string;
  readonly management: FakeServer;
}

const modelNotFound = (m: string): FakeReply => ({
  status: 404,
  json: { code: 404, type: 'ModelNotFoundException', message: `Model not found: ${m}` },
});

/**
 * Starts the fake with model `resnet` version `1.0`, one READY worker, predicting
 * `{"tabby": 0.8, "tiger_cat": 0.15}`.
 *
 * @example
 * const fake = await createTorchServeFake();
 * fake.state.models.resnet = { version: '1.0', minWorkers: 0, workers: [] }; // healthy ping, 503 predictions
 */
export async function createTorchServeFake(
  initial: Partial<TorchServeFakeState> = {},
): Promise<TorchServeFake> {
  const state: TorchServeFakeState = {
    pingStyle: 'current',
    health: 'auto',
    models: { resnet: { version: '1.0', minWorkers: 1, workers: ['READY'] } },
    prediction: { tabby: 0.8, tiger_cat: 0.15 },
    hang: false,
    nan: false,
    ...initial,
  };

  const running = (m: TorchServeFakeModel) => m.workers.filter((w) => w === 'READY').length;
  const healthyWorkers = (m: TorchServeFakeModel) => m.workers.filter((w) => w !== 'UNLOADING').length;
  const computedHealth = (): string => {
    if (state.health !== 'auto') return state.health;
    const models = Object.values(state.models);
    if (state.pingStyle === 'current')
      return models.every((m) => healthyWorkers(m) >= m.minWorkers) ? 'Healthy' : 'Unhealthy';
    const numWorking = models.reduce((n, m) => n + running(m), 0);
    const numScaled = models.reduce((n, m) => n + m.minWorkers, 0);
    if (numWorking > 0 && numWorking < numScaled) return 'Partial Healthy';
    if (numWorking === 0 && numScaled > 0) return 'Unhealthy';
    return 'Healthy';
  };

  /** The model, or TorchServe's 404 for an unknown model or version. */
  const lookup = (name: string, version?: string): TorchServeFakeModel | FakeReply => {
    const model = state.models[name];
    if (!model) return modelNotFound(name);
    if (version !== undefined && model.version !== version)
      return {
        status: 404,
        json: {
          code: 404,
          type: 'ModelVersionNotFoundException',
          message: `Model version: ${version} does not exist for model: ${name}`,
        },
      };
    return model;
  };
  const isModel = (found: TorchServeFakeModel | FakeReply): found is TorchServeFakeModel =>
    'workers' in found;

  const refused = (headers: { authorization?: string }, api: 'inference' | 'management') =>
    state.tokens !== undefined && headers.authorization !== `Bearer ${state.tokens[api]}`;

  const inference = await startFakeServer((req) => {
    if (state.hang) return { hang: true };
    if (refused(req.headers, 'inference')) return invalidKey;
    if (req.method === 'GET' && req.path === '/ping') {
      const status = computedHealth();
      if (state.pingStyle === 'older') return { status: 200, json: { status } };
      return status === 'Healthy'
        ? { status: 200, json: { status: 'Healthy' } }
        : { status: 500, json: { status: 'Unhealthy' } };
    }
    const predict = /^\/predictions\/([^/]+)(?:\/([^/]+))?$/.exec(req.path);
    if (req.method === 'POST' && predict) {
      const name = decodeURIComponent(predict[1] as string);
      const version = predict[2] === undefined ? undefined : decodeURIComponent(predict[2]);
      const model = lookup(name, version);
      if (!isModel(model)) return model;
      if (!model.workers.includes('READY'))
        return {
          status: 503,
          json: {
            code: 503,
            type: 'ServiceUnavailableException',
            message: `Model "${name}" has no worker to serve inference request. Please use scale workers API to add workers.`,
          },
        };
      if (state.nan)
        return {
          status: 200,
          text: withNonFinite({ tabby: Number.NaN, tiger_cat: 0.1 }),
          contentType: 'application/json',
        };
      return { status: 200, json: state.prediction };
    }
    return undefined;
  });

  const management = await startFakeServer((req) => {
    if (state.hang) return { hang: true };
    if (refused(req.headers, 'management')) return invalidKey;
    if (req.method !== 'GET') return undefined;
    if (req.path === '/models')
      return {
        status: 200,
        json: {
          models: Object.keys(state.models).map((modelName) => ({ modelName, modelUrl: `${modelName}.mar` })),
        },
      };
    const describe = /^\/models\/([^/]+)(?:\/([^/]+))?$/.exec(req.path);
    if (!describe) return undefined;
    const name = decodeURIComponent(describe[1] as string);
    const version = describe[2] === undefined ? undefined : decodeURIComponent(describe[2]);
    const model = lookup(name, version);
    if (!isModel(model)) return model;
    return {
      status: 200,
      json: [
        {
          modelName: name,
          modelVersion: model.version,
          modelUrl: `${name}.mar`,
          runtime: 'python',
          minWorkers: model.minWorkers,
          maxWorkers: Math.max(model.minWorkers, model.workers.length, 1),
          batchSize: 1,
          maxBatchDelay: 100,
          loadedAtStartup: true,
          workers: model.workers.map((status, i) => ({
            id: String(9000 + i),
            startTime: '2024-01-01T00:00:00.000Z',
            status: status === 'READY' ? 'READY' : 'UNLOADING',
            memoryUsage: 0,
            pid: 100 + i,
            gpu: false,
            gpuUsage: 'N/A',
          })),
          jobQueueStatus: { remainingCapacity: 100, pendingRequests: 0 },
        },
      ],
    };
  });

  return Object.assign(inference, {
    state,
    management,
    managementUrl: management.url,
    async close() {
      await Promise.all([inference.stop(), management.stop()]);
    },
  });
}
