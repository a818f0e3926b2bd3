/**
 * The example model server: real ONNX models behind the Open Inference Protocol v2 REST API, with
 * KServe's error statuses, a simulated weight-loading phase, vigil-ml-serve health endpoints, and
 * run-time fault injection.
 */
import { timingSafeEqual } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { createFastifyPlugin, createHealth, type Health } from 'vigil-ml-serve';
import {
  FaultError,
  type FaultMode,
  type FaultParams,
  FaultState,
  isFaultMode,
  parseFault,
  reportedVersion,
  scaleFeatures,
  swapLabels,
} from './faults.js';
import { type GrpcListener, type GrpcListenOptions, listenGrpc, type ServingCore } from './grpc.js';
import { type LlmOptions, registerLlmRoutes } from './llm.js';
import {
  loadModel,
  MODEL_NAMES,
  type Model,
  ModelInputError,
  type ModelName,
  type Tensor,
} from './models.js';
import { decodeInferenceRequest, InferenceRequestError, stringifyWithNonFinite } from './oip.js';

/** How long a graceful shutdown waits for gRPC calls in flight before cutting them, in ms. */
const GRPC_DRAIN_MS = 5_000;

/** Server name and version reported by `GET /v2`. */
export const SERVER_NAME = 'vigil-example-model-server';
export const SERVER_VERSION = '0.1.0';

/** Options of {@link createModelServer}; every field has a default. */
export interface ModelServerOptions {
  /** Models to serve. Default: every model in MODEL_NAMES. */
  models?: readonly ModelName[];
  /** Folder with the .onnx files. Default: the package's `models/` folder. */
  modelsDir?: string;
  /**
   * Simulated weight-loading time in ms before warm-up, as a large model loading onto a GPU:
   * meanwhile liveness answers 200 and readiness 503. Default 0.
   */
  loadingMs?: number;
  /** Dummy inferences per model during warm-up, after loading. Default 3. */
  warmupInferences?: number;
  /** Fault injection: off unless `enabled`; the admin API then requires `token` as a bearer token. */
  faults?: {
    enabled: boolean;
    token?: string;
    initial?: ReadonlyArray<{ mode: FaultMode; params: FaultParams<FaultMode> }>;
  };
  /** Maximum request body in bytes. Default 1 MiB (Fastify's default). */
  bodyLimit?: number;
  /** Called by the `crash` fault. Default: `process.exit`. */
  exit?: (code: number) => void;
  /** Fastify/pino log level, or false for no logs. Default false. */
  logLevel?: string | false;
  /** The OpenAI-compatible LLM routes (`llm.ts`): token pacing and the default `max_tokens`. */
  llm?: LlmOptions;
  /** Install SIGTERM/SIGINT handlers for graceful shutdown (readiness fails first, then drain). Default false. */
  handleSignals?: boolean;
  /** With handleSignals: how long readiness fails before the listener closes, in ms. Default 0. */
  shutdownDelayMs?: number;
}

/** A running example model server. */
export interface ModelServer {
  readonly app: FastifyInstance;
  readonly faults: FaultState;
  readonly health: Health;
  readonly models: ReadonlyMap<ModelName, Model>;
  /** The LLM behind the OpenAI-compatible routes, and the registry `/metrics` renders. */
  readonly llm: ReturnType<typeof registerLlmRoutes>;
  /** Starts listening; resolves to the base URL, e.g. `http://127.0.0.1:8081`. */
  listen(options?: { host?: string; port?: number }): Promise<string>;
  /**
   * Also serves the Open Inference Protocol over gRPC (and grpc.health.v1) on its own port, from the same
   * models, readiness and faults; resolves to its URL, e.g. `grpc://127.0.0.1:8001`. May be called more
   * than once (say, one listener with typed contents and one with `rawOutputs`).
   */
  listenGrpc(options?: GrpcListenOptions): Promise<string>;
  /** Stops listening (HTTP and gRPC), ends open calls (hung ones too) and frees the models. */
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

const EMPTY_SHAPE_REST = (shape: number[]): number[] => [0, ...shape.slice(1)];

/** Applies the output-level faults to a model's answer. Returns the (new) output list. */
function applyOutputFaults(outputs: Tensor[], faults: FaultState, name: ModelName): Tensor[] {
  let out = outputs;
  if (faults.get('empty', name)) {
    out = out.map((t) => ({ ...t, shape: EMPTY_SHAPE_REST(t.shape), data: [] }));
  }
  if (faults.get('unknown', name)) {
    out = out.map((t) =>
      t.datatype === 'BYTES' ? { ...t, data: (t.data as string[]).map(() => 'Unknown') } : t,
    );
  }
  if (faults.get('nan', name)) {
    out = out.map((t) =>
      t.datatype === 'FP32' ? { ...t, data: (t.data as number[]).map(() => Number.NaN) } : t,
    );
  }
  if (faults.get('out-of-range', name)) {
    out = out.map((t) =>
      t.datatype === 'FP32' ? { ...t, data: (t.data as number[]).map((x) => 1.25 + 0.5 * x) } : t,
    );
  }
  return out;
}

/** Standard normal numbers from a seeded mulberry32 generator (Box–Muller). */
function gaussian(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** Multiplies every FP32 output value by `1 + rel × z` (the `output-noise` fault). */
function addOutputNoise(outputs: Tensor[], normal: () => number, rel: number): Tensor[] {
  return outputs.map((t) =>
    t.datatype === 'FP32'
      ? { ...t, data: (t.data as number[]).map((x) => Math.fround(x * (1 + rel * normal()))) }
      : t,
  );
}

/** Zeroes numeric features and blanks text, as an upstream schema break would. */
function zeroFeatures(inputs: Tensor[]): Tensor[] {
  return inputs.map((t) => ({
    ...t,
    data: t.datatype === 'BYTES' ? (t.data as string[]).map(() => '') : (t.data as number[]).map(() => 0),
  }));
}

function bearerMatches(header: string | undefined, token: string): boolean {
  if (!header?.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice('Bearer '.length));
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * Loads the models and builds the server (not yet listening).
 *
 * Routes (OIP v2, KServe statuses: 400 bad input, 404 unknown model, 500 inference error, 503 not
 * ready; errors as `{"error": "..."}`):
 * GET /v2/health/live, /v2/health/ready, /v2/models/{m}[/versions/{v}]/ready, /v2,
 * /v2/models/{m}[/versions/{v}]; POST /v2/models/{m}[/versions/{v}]/infer. Also vigil-ml-serve's
 * /livez, /readyz, /startupz and /healthz/model, and, with faults enabled, /admin/faults.
 *
 * @example
 * const server = await createModelServer({ loadingMs: 2000, faults: { enabled: true, token: 't' } });
 * const url = await server.listen({ port: 8081 });
 */
export async function createModelServer(options: ModelServerOptions = {}): Promise<ModelServer> {
  const names = options.models ?? MODEL_NAMES;
  const loadingMs = options.loadingMs ?? 0;
  const warmupInferences = options.warmupInferences ?? 3;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const faults = new FaultState();
  const faultsEnabled = options.faults?.enabled ?? false;
  const adminToken = options.faults?.token;
  if (faultsEnabled && !adminToken) throw new Error('faults.enabled requires faults.token for the admin API');

  const models = new Map<ModelName, Model>();
  for (const name of names) {
    if (models.has(name)) continue;
    const loadOptions = options.modelsDir === undefined ? undefined : { modelsDir: options.modelsDir };
    models.set(name, await loadModel(name, loadOptions));
  }
  const drifted = new Map<string, Promise<Model>>();
  const crashTimers = new Set<NodeJS.Timeout>();

  function activate<M extends FaultMode>(mode: M, params: FaultParams<M>): void {
    faults.set(mode, params);
    if (mode === 'crash') {
      const { afterMs, exitCode } = params as FaultParams<'crash'>;
      // At least a few ms so the admin answer is flushed before the process goes away.
      const timer = setTimeout(() => exit(exitCode), Math.max(afterMs, 20));
      crashTimers.add(timer);
    }
  }
  for (const { mode, params } of options.faults?.initial ?? []) activate(mode, params);

  const isModelReady = (name?: ModelName) => !faults.get('not-ready', name, false);

  // Warm-up starts in the background right away: liveness answers at once, readiness after it.
  const health = createHealth({
    warmup: async () => {
      if (loadingMs > 0) await sleep(loadingMs);
      for (const model of models.values()) {
        for (let i = 0; i < warmupInferences; i++) await model.infer(model.smokeInputs());
      }
    },
    dependencies: {
      models: async () => {
        const notReady = [...models.keys()].filter((n) => !isModelReady(n));
        if (notReady.length > 0) throw new Error(`not ready: ${notReady.join(', ')}`);
      },
    },
    selfTest: {
      run: async () => {
        const answers: Record<string, Tensor[]> = {};
        for (const [name, model] of models) answers[name] = await predict(name, model.smokeInputs());
        return answers;
      },
      validate: (answers) => {
        const problems: string[] = [];
        for (const [name, outputs] of Object.entries(answers as Record<string, Tensor[]>)) {
          for (const t of outputs) {
            if (t.data.length === 0) problems.push(`${name}.${t.name} is empty`);
            for (const v of t.data) {
              if (typeof v === 'number' && !Number.isFinite(v)) {
                problems.push(`${name}.${t.name} has a non-finite value (${v})`);
                break;
              }
            }
          }
        }
        return problems;
      },
    },
    shutdown: {
      signals: options.handleSignals ? ['SIGTERM', 'SIGINT'] : [],
      delayMs: options.shutdownDelayMs ?? 0,
      close: async () => {
        // gRPC calls in flight get a moment to finish, as Fastify's do; a hung one is then cut.
        await Promise.all([app.close(), ...[...grpcListeners].map((l) => l.drain(GRPC_DRAIN_MS))]);
      },
    },
  });

  async function modelFor(name: ModelName): Promise<Model> {
    const base = models.get(name) as Model;
    const drift = faults.get('drift', name);
    if (!drift) return base;
    const key = `${name}:${drift.seed}:${drift.scale ?? 'default'}:${drift.sigma ?? 'scaled'}`;
    let copy = drifted.get(key);
    if (!copy) {
      copy = base.withDrift({
        seed: drift.seed,
        ...(drift.scale === undefined ? {} : { scale: drift.scale }),
        ...(drift.sigma === undefined ? {} : { sigma: drift.sigma }),
      });
      drifted.set(key, copy);
    }
    return copy;
  }

  /** One seeded generator per `output-noise` seed, advancing per answer (the noise differs each time). */
  const noiseSources = new Map<number, () => number>();
  function noiseSource(seed: number): () => number {
    let next = noiseSources.get(seed);
    if (next === undefined) {
      next = gaussian(seed);
      noiseSources.set(seed, next);
    }
    return next;
  }

  async function predict(name: ModelName, inputs: Tensor[]): Promise<Tensor[]> {
    const model = await modelFor(name);
    const bump = faults.get('version-bump', name);
    if (bump) await sleep(bump.ms + Math.random() * bump.jitterMs);
    let fed = faults.get('zero-features', name) ? zeroFeatures(inputs) : inputs;
    const scaled = faults.get('scaled-features', name);
    if (scaled) fed = scaleFeatures(fed, scaled.factor);
    let outputs = await model.infer(fed);
    if (faults.get('swapped-labels', name)) outputs = swapLabels(outputs, model.labels);
    const noise = faults.get('output-noise', name);
    if (noise) outputs = addOutputNoise(outputs, noiseSource(noise.seed), noise.rel);
    return applyOutputFaults(outputs, faults, name);
  }

  /** Everything the gRPC listeners answer from: the REST routes' own state and prediction. */
  const core: ServingCore = {
    models,
    faults,
    health,
    serverMetadata: { name: SERVER_NAME, version: SERVER_VERSION, extensions: [] },
    isModelReady,
    serverNotReady() {
      if (!health.isStarted()) return 'server is not ready: models are loading';
      if (health.isShuttingDown()) return 'server is not ready: shutting down';
      const notReady = [...models.keys()].filter((n) => !isModelReady(n));
      return notReady.length > 0 ? `server is not ready: ${notReady.join(', ')} not ready` : undefined;
    },
    predict: (name, inputs) => predict(name, inputs),
  };
  const grpcListeners = new Set<GrpcListener>();

  const app = Fastify({
    logger: options.logLevel ? { level: options.logLevel } : false,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    // Hung requests (the `hang` fault) must not keep close() waiting forever.
    forceCloseConnections: true,
  });

  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    const status = err instanceof HttpError ? err.statusCode : (err.statusCode ?? 500);
    reply.code(status >= 400 && status < 600 ? status : 500).send({ error: err.message });
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({ error: `no route for ${req.method} ${req.url.split('?')[0]}` });
  });

  function lookup(params: { model: string; version?: string }): { name: ModelName; model: Model } {
    const model = models.get(params.model as ModelName);
    if (!model) throw new HttpError(404, `model "${params.model}" not found`);
    if (
      params.version !== undefined &&
      params.version !== reportedVersion(faults, params.model, model.info.version)
    )
      throw new HttpError(404, `model "${params.model}" has no version "${params.version}"`);
    return { name: params.model as ModelName, model };
  }

  // Route-level faults (latency, errors, hang) for every route but /admin; `scope: "all"` reaches
  // health and metadata routes too, `scope: "infer"` only inference.
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    if (faults.size === 0 || req.url.startsWith('/admin/')) return;
    const route = req.routeOptions.url ?? '';
    const isInfer = req.method === 'POST' && (route.endsWith('/infer') || route.endsWith('/completions'));
    const modelName = (req.params as { model?: string } | undefined)?.model;
    if (faults.get('hang', modelName, isInfer)) {
      await new Promise<never>(() => {});
    }
    const latency = faults.get('latency', modelName, isInfer);
    if (latency) await sleep(latency.ms + Math.random() * latency.jitterMs);
    const errors = faults.get('errors', modelName, isInfer);
    if (errors && faults.takeError(errors.rate)) {
      return reply.code(errors.status).send({ error: `injected fault: HTTP ${errors.status}` });
    }
  });

  await app.register(createFastifyPlugin(health));
  const llm = registerLlmRoutes(app, faults, options.llm);

  const live = { live: true };
  app.get('/v2/health/live', async () => live);
  app.get('/v2/health/ready', async (_req, reply) => {
    const notReady = core.serverNotReady();
    if (notReady !== undefined) return reply.code(503).send({ error: notReady });
    return { ready: true };
  });

  const modelReady = async (
    req: FastifyRequest<{ Params: { model: string; version?: string } }>,
    reply: FastifyReply,
  ) => {
    const { name } = lookup(req.params);
    if (!health.isStarted() || health.isShuttingDown() || !isModelReady(name))
      return reply.code(503).send({ error: `model "${name}" is not ready` });
    return { name, ready: true };
  };
  app.get('/v2/models/:model/ready', modelReady);
  app.get('/v2/models/:model/versions/:version/ready', modelReady);

  app.get('/v2', async () => core.serverMetadata);
  app.get('/v2/', async () => core.serverMetadata);

  const modelMetadata = async (req: FastifyRequest<{ Params: { model: string; version?: string } }>) => {
    const { model } = lookup(req.params);
    const { name, version, platform, inputs, outputs } = model.info;
    return { name, versions: [reportedVersion(faults, name, version)], platform, inputs, outputs };
  };
  app.get('/v2/models/:model', modelMetadata);
  app.get('/v2/models/:model/versions/:version', modelMetadata);

  const infer = async (
    req: FastifyRequest<{ Params: { model: string; version?: string } }>,
    reply: FastifyReply,
  ) => {
    const { name, model } = lookup(req.params);
    if (!health.isStarted() || !isModelReady(name)) throw new HttpError(503, `model "${name}" is not ready`);
    let request: ReturnType<typeof decodeInferenceRequest>;
    try {
      request = decodeInferenceRequest(req.body);
    } catch (err) {
      if (err instanceof InferenceRequestError) throw new HttpError(400, err.message);
      throw err;
    }
    if (request.outputs) {
      const known = new Set(model.info.outputs.map((o) => o.name));
      const unknown = request.outputs.filter((o) => !known.has(o));
      if (unknown.length > 0) throw new HttpError(400, `unknown output "${unknown[0]}" requested`);
    }
    let outputs: Tensor[];
    try {
      outputs = await predict(name, request.inputs);
    } catch (err) {
      if (err instanceof ModelInputError) throw new HttpError(400, err.message);
      throw new HttpError(500, `inference failed: ${(err as Error).message}`);
    }
    if (request.outputs) {
      const wanted = new Set(request.outputs);
      outputs = outputs.filter((o) => wanted.has(o.name));
    }
    const body: Record<string, unknown> = {
      model_name: name,
      model_version: reportedVersion(faults, name, model.info.version),
    };
    if (request.id !== undefined) body.id = request.id;
    if (faults.get('wrong-schema', name)) body.predictions = outputs.map((o) => o.data);
    else body.outputs = outputs;
    return reply.type('application/json; charset=utf-8').send(stringifyWithNonFinite(body));
  };
  app.post('/v2/models/:model/infer', infer);
  app.post('/v2/models/:model/versions/:version/infer', infer);

  if (faultsEnabled && adminToken) {
    await app.register(async (admin) => {
      admin.addHook('onRequest', async (req, reply) => {
        if (!bearerMatches(req.headers.authorization, adminToken))
          return reply.code(401).send({ error: 'admin API requires "Authorization: Bearer <token>"' });
      });
      admin.get('/admin/faults', async () => ({ faults: faults.list() }));
      admin.put<{ Params: { mode: string } }>('/admin/faults/:mode', async (req) => {
        const { mode } = req.params;
        if (!isFaultMode(mode)) throw new HttpError(404, `unknown fault "${mode}"`);
        let params: FaultParams<FaultMode>;
        try {
          params = parseFault(mode, req.body ?? {});
        } catch (err) {
          if (err instanceof FaultError) throw new HttpError(400, err.message);
          throw err;
        }
        activate(mode, params);
        req.log.warn({ mode, params }, 'fault activated');
        return { mode, params };
      });
      admin.delete<{ Params: { mode: string } }>('/admin/faults/:mode', async (req) => {
        const { mode } = req.params;
        if (!isFaultMode(mode)) throw new HttpError(404, `unknown fault "${mode}"`);
        faults.clear(mode);
        return { faults: faults.list() };
      });
      admin.delete('/admin/faults', async () => {
        faults.clear();
        return { faults: faults.list() };
      });
    });
  }

  let closed = false;
  return {
    app,
    faults,
    health,
    models,
    llm,
    async listen({ host = '127.0.0.1', port = 0 } = {}) {
      await app.listen({ host, port });
      const address = app.server.address();
      if (address === null || typeof address === 'string') throw new Error('server is not listening on TCP');
      const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      return `http://${shownHost}:${address.port}`;
    },
    async listenGrpc(grpcOptions = {}) {
      const listener = await listenGrpc(core, grpcOptions);
      grpcListeners.add(listener);
      return listener.url;
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const t of crashTimers) clearTimeout(t);
      await health.stop();
      for (const listener of grpcListeners) listener.close();
      await app.close();
      for (const m of models.values()) await m.close();
      for (const d of drifted.values()) await (await d).close();
    },
  };
}
