/**
 * TorchServe (inference API, default port 8080; management API, default port 8081).
 *
 * - liveness: `GET /ping` answered by TorchServe, whatever it says: `/ping` is server-wide (current
 *   releases answer 500 `{"status":"Unhealthy"}`, older ones 200 with `"Partial Healthy"` or
 *   `"Unhealthy"`, when any model has fewer healthy workers than its minWorkers), so one broken model
 *   would otherwise fail liveness — and restart a healthy server if liveness drives Kubernetes. Its
 *   body is read and a non-`Healthy` status is a note on the answer.
 * - readiness: the management API's `GET /models/{m}[/{version}]` (an array of model descriptions)
 *   shows at least one worker with status `READY` (a model scaled to `minWorkers: 0` pings healthy
 *   while every prediction fails with 503, "no worker to serve"). Fewer READY workers than minWorkers,
 *   and `/ping`'s server-wide state, are notes; neither fails the model.
 *   The management base URL is `target.managementUrl`, default the target's origin with port 8081.
 * - integrity: `POST /predictions/{m}[/{version}]` with `plan.request` (any JSON; a string is sent as is).
 *   The answer is handler-defined: an array of objects gives one output per key; any other array or a
 *   scalar gives `outputs.predictions`; an object one output per key; a non-JSON text body
 *   `outputs.predictions = [text]`.
 * - metadata: management `GET /models/{m}[/{version}]`, or `GET /models` (the list) without a model.
 *
 * The model version comes from the management API's `modelVersion` (readiness, metadata).
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { everyTime } from '../schema/blocks.js';
import { baseUrl } from '../schema/url.js';
import type { AdapterAnswer, AdapterContext, ProtocolAdapter, TargetConfig } from '../types.js';
import {
  type AdapterMethods,
  defineAdapter,
  describeAnswer,
  enc,
  fail,
  isSuccess,
  jsonOf,
  looksLikeJson,
  modelOf,
  pass,
  type Reply,
  requestOf,
  type SendResult,
  send,
  unexpectedStatus,
  wrongShape,
} from './common.js';
import { isRecord, normaliseRows, setOutputs } from './normalise.js';
import { defineProtocol } from './plugin.js';

/** TorchServe's management API base URL for a target: `managementUrl`, else the origin with port 8081. */
export function managementUrlOf(target: TargetConfig): string {
  // A target option (see torchserveProtocol), validated by the config schema.
  if (typeof target.managementUrl === 'string') return target.managementUrl;
  const url = new URL(target.url);
  url.port = '8081';
  return url.origin;
}

/** A target's management credential: the key itself, or TorchServe's key file (re-read when it changes). */
export type ManagementAuth = { readonly bearer: string } | { readonly keyFile: string };

interface KeyFileEntry {
  text: string;
  keys: { management?: string; inference?: string };
}

// Per path, the file's last text and its keys. The file is read at each management request (a few
// hundred bytes) and parsed again only when its text changed: TorchServe rewrites it in place with keys
// of the same length, so neither its size nor (within the kernel's timestamp tick) its mtime need change.
const keyFiles = new Map<string, KeyFileEntry>();

/**
 * The keys in TorchServe's `key_file.json`: `{"management": {"key", "expiration time"}, "inference":
 * {"key", "expiration time"}, "API": {"key"}}` (GSON, pretty-printed), written at start-up to
 * `key_file.json` in the server's working directory (mode 0600) and rewritten whole when a key is
 * regenerated through the `/token` API. Read in pytorch/serve at ead7b680 (`frontend/server/src/main/
 * java/org/pytorch/serve/util/TokenAuthorization.java`): the path `user.dir/key_file.json` at line 49
 * (`init`), the layout at lines 160–182 (`generateKeyFile`), each key 6 random bytes in URL-safe Base64
 * (lines 128–132); `docs/token_authorization_api.md`. The management and inference keys expire
 * (`expiration time`, an ISO-8601 instant, `ConfigManager.getTimeToExpiration()` minutes on, lines
 * 134–137; checked at lines 108–111); the API key does not.
 */
async function readKeyFile(path: string): Promise<KeyFileEntry['keys']> {
  const text = await readFile(path, 'utf8');
  const cached = keyFiles.get(path);
  if (cached?.text === text) return cached.keys;
  const parsed: unknown = JSON.parse(text);
  const keyOf = (section: string): string | undefined => {
    const entry = isRecord(parsed) ? parsed[section] : undefined;
    return isRecord(entry) && typeof entry.key === 'string' ? entry.key : undefined;
  };
  const keys: KeyFileEntry['keys'] = {};
  const management = keyOf('management');
  const inference = keyOf('inference');
  if (management !== undefined) keys.management = management;
  if (inference !== undefined) keys.inference = inference;
  keyFiles.set(path, { text, keys });
  return keys;
}

function managementAuthOf(target: TargetConfig): ManagementAuth | undefined {
  const auth = target.managementAuth;
  if (!isRecord(auth)) return undefined;
  if (typeof auth.bearer === 'string') return { bearer: auth.bearer };
  if (typeof auth.keyFile === 'string') return { keyFile: auth.keyFile };
  return undefined;
}

/**
 * Headers for a management request: `managementAuth`'s key (TorchServe's management key differs from the
 * inference key, which the target's `auth` carries), or the error text when its key file cannot be read.
 */
async function managementHeaders(
  target: TargetConfig,
): Promise<{ headers: Record<string, string>; problem?: string }> {
  const auth = managementAuthOf(target);
  if (auth === undefined) return { headers: {} };
  if ('bearer' in auth) return { headers: { authorization: `Bearer ${auth.bearer}` } };
  try {
    const { management } = await readKeyFile(auth.keyFile);
    if (management === undefined)
      return { headers: {}, problem: `TorchServe key file ${auth.keyFile} has no "management" key` };
    return { headers: { authorization: `Bearer ${management}` } };
  } catch (err) {
    return {
      headers: {},
      problem: `cannot read TorchServe key file ${auth.keyFile}: ${(err as Error).message}`,
    };
  }
}

/**
 * True for TorchServe's refusal of a missing, wrong or expired key, or a 401/403 from a proxy in front.
 * Read in pytorch/serve (`frontend/server/src/main/java/org/pytorch/serve/`):
 * `http/TokenAuthorizationHandler.java` at ead7b680, `checkTokenAuthorization` (lines 67–79): no
 * `Authorization` header (line 71), or a token that is not that API's current key or has expired
 * (line 76; `Bearer <key>` parsed by `util/TokenAuthorization.java` line 32), throws
 * `InvalidKeyException` "Token Authorization failed. Token either incorrect, expired, or not provided
 * correctly"; the `/token` route (line 54) and the older plugin handler (at 0690e016, line 99) say
 * "Token Authentication failed. …". `InvalidKeyException` is a `ModelException` (frontend/archive
 * `…/archive/model/InvalidKeyException.java` at a3412c44, line 3), which `http/HttpRequestHandler.java`
 * `channelRead0` answers with **400** BAD_REQUEST, not 401 (at 6cd98e1b, lines 52–54), the body
 * `{"code": 400, "type": "InvalidKeyException", "message": …}` (`util/NettyUtils.java` `sendError` at
 * 1de522a5, lines 101–106; the fields of `http/ErrorResponse.java` at 86596503, lines 17–19).
 */
function isTokenRefusal(reply: Reply): boolean {
  if (reply.status === 401 || reply.status === 403) return true;
  if (reply.status !== 400) return false;
  const body = reply.json.ok ? reply.json.value : undefined;
  return (
    (isRecord(body) && body.type === 'InvalidKeyException') ||
    /token (authori[sz]ation|authentication) failed/i.test(reply.text)
  );
}

function isLoopback(url: string): boolean {
  const host = new URL(url).hostname;
  return host === 'localhost' || host === '[::1]' || host === '::1' || host.startsWith('127.');
}

/**
 * Sends a request to the management API, with its own credential. The failure says what TorchServe as
 * shipped does: a refused connection to a non-loopback host is most often the default
 * `management_address=http://127.0.0.1:8081`; a 401/403 is token authorisation (on by default since 0.11).
 */
async function sendManagement(ctx: AdapterContext, path: string): Promise<SendResult> {
  const base = managementUrlOf(ctx.target);
  // An unreadable key file does not stop the request: the server may not need a key; a 401 will say why.
  const auth = await managementHeaders(ctx.target);
  const sent = await send(ctx, { baseUrl: base, path, headers: auth.headers });
  if (!sent.ok) {
    const { verdict } = sent.answer;
    if (!verdict.ok && verdict.code === 'CONNECTION_REFUSED' && !isLoopback(base)) {
      verdict.reason +=
        ' (TorchServe binds its management API to 127.0.0.1 unless management_address in config.properties says otherwise, so it cannot be reached from another host)';
    }
    return sent;
  }
  const { reply } = sent;
  if (isTokenRefusal(reply)) {
    const hint =
      auth.problem !== undefined
        ? auth.problem
        : managementAuthOf(ctx.target) === undefined
          ? 'token authorisation is on (the default since TorchServe 0.11) and the management API takes its own key: give the target managementAuth {bearer} or {keyFile: key_file.json}'
          : 'the management key was refused (TorchServe keys expire; with keyFile, the file is re-read when it changes)';
    return { ok: false, answer: fail(reply, `TorchServe ${reply.label} ${describeAnswer(reply)}: ${hint}`) };
  }
  return sent;
}

function versionSuffix(target: TargetConfig): string {
  return target.version === undefined ? '' : `/${enc(target.version)}`;
}

/** What `GET /ping` said: `Healthy`, or the server-wide condition as one sentence. */
type Ping = { ok: true; reply: Reply; condition?: string } | { ok: false; answer: AdapterAnswer };

/**
 * `GET /ping`, read by its body's `status` (older TorchServe answers 200 whatever it says). `/ping` is
 * server-wide: current releases answer 500 `{"status":"Unhealthy"}` when *any* model has fewer healthy
 * workers than its minWorkers (pytorch/serve `frontend/server/src/main/java/org/pytorch/serve/wlm/
 * ModelManager.java`, the worker status `/ping` reports), so an answer of any status is the process
 * answering; what it says is reported as `condition`, never as this model's state. Only an answer that
 * is not TorchServe's (a proxy's 502, a body without `status`) is a failure.
 */
async function ping(ctx: AdapterContext): Promise<Ping> {
  const sent = await send(ctx, { path: '/ping' });
  if (!sent.ok) return sent;
  const { reply } = sent;
  const body = reply.json.ok ? reply.json.value : undefined;
  const status = isRecord(body) && typeof body.status === 'string' ? body.status : undefined;
  if (status === undefined) {
    if (isTokenRefusal(reply)) {
      return {
        ok: true,
        reply,
        condition: `TorchServe ${reply.label} ${describeAnswer(reply)}: token authorisation is on (the default since 0.11), so the server's health was not read; give the inference key in the target's headers`,
      };
    }
    if (reply.status !== 200)
      return { ok: false, answer: fail(reply, `TorchServe ${reply.label} ${describeAnswer(reply)}`) };
    const json = jsonOf(reply);
    if (!json.ok) return json;
    return {
      ok: false,
      answer: wrongShape(reply, 'expected {"status": "Healthy" | "Partial Healthy" | "Unhealthy"}'),
    };
  }
  if (reply.status === 200 && status === 'Healthy') return { ok: true, reply };
  return {
    ok: true,
    reply,
    condition: `server-wide health: TorchServe ${reply.label} answered ${reply.status} with status "${status}" (it says so when any model has fewer healthy workers than its minWorkers)`,
  };
}

interface WorkerView {
  status?: unknown;
}

/** One line about a model description's workers: `minWorkers 0, workers: none`. */
function describeWorkers(entry: Record<string, unknown>): string {
  const workers = Array.isArray(entry.workers) ? (entry.workers as WorkerView[]) : [];
  const counts = new Map<string, number>();
  for (const w of workers) {
    const s = typeof w?.status === 'string' ? w.status : 'unknown';
    counts.set(s, (counts.get(s) ?? 0) + 1);
  }
  const list = counts.size === 0 ? 'none' : [...counts].map(([s, n]) => `${n} ${s}`).join(', ');
  const min = typeof entry.minWorkers === 'number' ? `minWorkers ${entry.minWorkers}, ` : '';
  return `${min}workers: ${list}`;
}

function readyWorkers(entry: Record<string, unknown>): number {
  return Array.isArray(entry.workers)
    ? entry.workers.filter((w) => isRecord(w) && w.status === 'READY').length
    : 0;
}

function hasReadyWorker(entry: Record<string, unknown>): boolean {
  return readyWorkers(entry) > 0;
}

const methods: AdapterMethods = {
  async liveness(ctx) {
    const result = await ping(ctx);
    if (!result.ok) return result.answer;
    return pass(result.reply, result.condition === undefined ? {} : { notes: [result.condition] });
  },

  async readiness(ctx) {
    const model = modelOf(ctx, 'readiness');
    const sent = await sendManagement(ctx, `/models/${enc(model)}${versionSuffix(ctx.target)}`);
    if (!sent.ok) return sent.answer;
    const { reply } = sent;
    if (reply.status === 404) {
      // ModelVersionNotFoundException: the model exists, this version does not.
      const body = reply.json.ok ? reply.json.value : undefined;
      const versionMissing = isRecord(body) && body.type === 'ModelVersionNotFoundException';
      const what = versionMissing
        ? `TorchServe model "${model}" has no version "${ctx.target.version ?? ''}"`
        : `TorchServe model "${model}" unknown`;
      return fail(reply, `${what}: ${reply.label} ${describeAnswer(reply)}`);
    }
    if (!isSuccess(reply.status)) return unexpectedStatus(reply, 'TorchServe');
    const json = jsonOf(reply);
    if (!json.ok) return json.answer;
    const entries = Array.isArray(json.value) ? json.value.filter(isRecord) : [];
    if (entries.length === 0) return wrongShape(reply, 'expected an array of model descriptions');
    const { version } = ctx.target;
    const candidates =
      version === undefined ? entries : entries.filter((e) => String(e.modelVersion) === version);
    const ready = candidates.find(hasReadyWorker);
    const described = ready ?? candidates[0] ?? entries[0];
    const modelVersion =
      described && (typeof described.modelVersion === 'string' || typeof described.modelVersion === 'number')
        ? String(described.modelVersion)
        : undefined;
    if (ready) {
      const notes: string[] = [];
      const min = typeof ready.minWorkers === 'number' ? ready.minWorkers : 0;
      if (readyWorkers(ready) < min) {
        notes.push(
          `TorchServe model "${model}" serves with ${readyWorkers(ready)} READY worker(s), below its minWorkers ${min}`,
        );
      }
      // The server-wide state, asked after the model's own: it is a note, not this model's failure.
      const pinged = await ping(ctx);
      if (pinged.ok && pinged.condition !== undefined) notes.push(pinged.condition);
      return pass(reply, {
        ...(modelVersion !== undefined && { modelVersion }),
        ...(notes.length > 0 && { notes }),
      });
    }
    const which = modelVersion === undefined ? `"${model}"` : `"${model}" version "${modelVersion}"`;
    const answer = fail(
      reply,
      `TorchServe model ${which} has no READY worker (${described ? describeWorkers(described) : 'no description'}): predictions would fail with 503`,
    );
    if (modelVersion !== undefined) answer.modelVersion = modelVersion;
    return answer;
  },

  async integrity(ctx, plan) {
    const model = modelOf(ctx, 'integrity');
    const sent = await send(ctx, {
      path: `/predictions/${enc(model)}${versionSuffix(ctx.target)}`,
      method: 'POST',
      body: requestOf(ctx, plan),
    });
    if (!sent.ok) return sent.answer;
    const { reply } = sent;
    if (!isSuccess(reply.status)) return unexpectedStatus(reply, 'TorchServe');
    if (!reply.json.ok && !looksLikeJson(reply.text, reply.response.headers['content-type'])) {
      // Handlers may answer plain text; it is the prediction.
      reply.document.outputs = { predictions: [reply.text] };
      return pass(reply);
    }
    const json = jsonOf(reply);
    if (!json.ok) return json.answer;
    setOutputs(reply.document, normaliseRows(json.value, 'predictions'));
    return pass(reply);
  },

  async metadata(ctx) {
    const { model } = ctx.target;
    const path = model === undefined ? '/models' : `/models/${enc(model)}${versionSuffix(ctx.target)}`;
    const sent = await sendManagement(ctx, path);
    if (!sent.ok) return sent.answer;
    const { reply } = sent;
    if (!isSuccess(reply.status)) return unexpectedStatus(reply, 'TorchServe');
    const json = jsonOf(reply);
    if (!json.ok) return json.answer;
    const first = Array.isArray(json.value) ? json.value[0] : undefined;
    const version = isRecord(first) ? first.modelVersion : undefined;
    return pass(reply, typeof version === 'string' ? { modelVersion: version } : {});
  },
};

/** The TorchServe adapter. */
export const torchserveAdapter: ProtocolAdapter = defineAdapter('torchserve', methods);

// ---------------------------------------------------------------------------------------------
// Config: the prediction body, the management API's URL, and the plugin

/** TorchServe: the handler defines the body, so any JSON value. */
export const torchserveRequestSchema = z
  .unknown()
  .superRefine((value, ctx) => {
    if (value === undefined) {
      ctx.addIssue({
        code: 'custom',
        message:
          'required: integrity and canary checks send this smoke payload (any JSON your handler takes)',
      });
    } else if (value === null) {
      ctx.addIssue({ code: 'custom', message: 'expected a JSON payload, got an empty value' });
    }
  }, everyTime)
  .describe('TorchServe prediction body: any JSON the handler accepts.');

/**
 * The TorchServe protocol plugin: a model is required; integrity and canary checks send any JSON body;
 * a target may give its management API's URL (`managementUrl`, default the url with port 8081).
 */
export const torchserveProtocol = defineProtocol({
  name: 'torchserve',
  adapter: torchserveAdapter,
  model: 'required',
  request: { schema: torchserveRequestSchema },
  targetOptions: {
    managementUrl: baseUrl('TorchServe management API base URL (default: url with port 8081).').optional(),
    managementAuth: z
      .union([
        z.strictObject({ bearer: z.string().min(1).describe('The management API key.') }),
        z.strictObject({
          keyFile: z
            .string()
            .min(1)
            .describe(
              'Path of TorchServe\'s key_file.json; its "management" key is used, re-read when the file changes.',
            ),
        }),
      ])
      .optional()
      .describe(
        "TorchServe's management API credential (token authorisation is on by default since 0.11, with a key of its own): {bearer} or {keyFile}. The target's auth is the inference key.",
      ),
  },
});
