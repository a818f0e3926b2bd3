/**
 * The demo (`npm start`): both example models, each in its own server process with fault injection
 * enabled (the credit-scorer twice: a primary and a secondary), and the Vigil hub watching them with
 * an embedded config, with a failover router in front of the credit-scorer (a secondary and a
 * heuristic fallback, `heuristic.ts`) fed by a small steady load — the whole loop on one machine.
 * When the credit-scorer turns unhealthy (crashed, hung, answering NaN), the hub's `command` action
 * `restart-credit-scorer` asks the demo to restart its process (`POST /restart/credit-scorer` on the
 * receiver's port, the admin token as bearer): the run shows on the incident's page.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createLogger, runHub } from 'vigil-ml';

const BIN = fileURLToPath(import.meta.resolve('@vigil/example-model-server/bin'));
const HOST = process.env.DEMO_HOST ?? '127.0.0.1';
const TOKEN = process.env.MODEL_SERVER_ADMIN_TOKEN ?? 'demo-token';
const HUB_PORT = Number(process.env.DEMO_HUB_PORT ?? 7979);
const STATE_DIR = process.env.DEMO_STATE_DIR ?? '.vigil';
const RECEIVER_PORT = Number(process.env.DEMO_RECEIVER_PORT ?? 7980);
const ROUTER_PORT = Number(process.env.DEMO_ROUTER_PORT ?? 8090);
const ROUTER_ADMIN_PORT = Number(process.env.DEMO_ROUTER_ADMIN_PORT ?? 7981);
/** Requests a second the demo sends through the router, so it has traffic to judge. */
const LOAD_PER_SECOND = Number(process.env.DEMO_ROUTER_LOAD ?? 20);
const HEURISTIC = fileURLToPath(new URL('./heuristic.js', import.meta.url));
/** The recovery action's program: asks the demo to restart a model server, prints the answer. */
const RESTART_SCRIPT = `// Written by the demo: the credit-scorer's recovery action (a command action) runs it.
const res = await fetch(process.argv[2], {
  method: 'POST',
  headers: { authorization: 'Bearer ' + process.env.DEMO_ADMIN_TOKEN },
}).catch((error) => ({ ok: false, text: async () => 'the demo did not answer: ' + error.message }));
console.log(await res.text());
process.exit(res.ok ? 0 : 1);
`;
/** `json` or `pretty`; default: pretty on a terminal, JSON lines otherwise (as `vigil run`). */
const LOG_FORMAT = process.env.DEMO_LOG_FORMAT;
const LOG_LEVEL = process.env.DEMO_LOG_LEVEL ?? 'info';

/** The demo's own lines (the receiver, the model servers) in the hub's log format: one look for all. */
const log = createLogger({ level: LOG_LEVEL, format: LOG_FORMAT });

interface DemoServer {
  /** The target's name. */
  name: string;
  model: string;
  port: number;
  loadingMs: number;
  example: string;
}

const servers: DemoServer[] = [
  {
    name: 'credit-scorer',
    model: 'credit-scorer',
    port: Number(process.env.DEMO_CREDIT_PORT ?? 8081),
    loadingMs: 3000,
    example: JSON.stringify({
      inputs: [
        { name: 'features', shape: [1, 8], datatype: 'FP32', data: [0.3, 0.1, 0.5, 0.2, 0.9, 0.4, 0.0, 0.7] },
      ],
    }),
  },
  {
    name: 'product-categorizer',
    model: 'product-categorizer',
    port: Number(process.env.DEMO_CATEGORIZER_PORT ?? 8082),
    loadingMs: 1000,
    example: JSON.stringify({
      inputs: [{ name: 'title', shape: [1], datatype: 'BYTES', data: ['wireless bluetooth headphones'] }],
    }),
  },
];
const base = (s: DemoServer) => `http://${HOST}:${s.port}`;
const [credit, products] = servers as [DemoServer, DemoServer];
/** The credit-scorer's secondary instance, behind the router. */
const creditB: DemoServer = {
  ...credit,
  name: 'credit-scorer-b',
  port: Number(process.env.DEMO_CREDIT_B_PORT ?? 8083),
};
servers.push(creditB);

/** The hub's embedded default config: every check kind the hub runs today, on both models. */
const CONFIG = `# Vigil demo config (written by the demo; edit it while the demo runs: the hub reloads it).
defaults: { interval: 5s, timeout: 1s, failureThreshold: 3, fastInterval: 1s }
targets:
  - name: credit-scorer
    url: ${base(credit)}
    protocol: oip-v2
    model: credit-scorer
    labels: { team: risk }
    # Recovery: when a check turns unhealthy (a crash, a hang, NaN answers), restart the process.
    # At most 3 restarts an hour, 10 s back-off doubling, and a failure within 10 min of a recovery
    # pages instead of restarting again (the defaults); each run is on the incident's page.
    actions:
      onUnhealthy:
        - kind: command
          name: restart-credit-scorer
          command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(join(STATE_DIR, 'restart.mjs'))}, "http://${HOST}:${RECEIVER_PORT}/restart/credit-scorer"]
          env: { DEMO_ADMIN_TOKEN: "${TOKEN}" }
          timeout: 60s
    checks:
      liveness: {}
      readiness: {}
      integrity:
        interval: 10s
        request:
          inputs: [{ name: features, shape: [1, 8], datatype: FP32, data: [0.3, 0.1, 0.5, 0.2, 0.9, 0.4, 0.0, 0.7] }]
        expect:
          latency: { degraded: 150ms, failed: 500ms }
          outputs:
            probability: { range: [0, 1], finite: true, notEmpty: true }
            label: { notIn: [Unknown] }
  - name: credit-scorer-b
    url: ${base(creditB)}
    protocol: oip-v2
    model: credit-scorer
    labels: { team: risk }
    checks: { liveness: {}, readiness: {} }
  - name: product-categorizer
    url: ${base(products)}
    protocol: oip-v2
    model: product-categorizer
    labels: { team: catalog }
    checks:
      liveness: {}
      readiness: {}
      integrity:
        interval: 10s
        request:
          inputs: [{ name: title, shape: [1], datatype: BYTES, data: [wireless bluetooth headphones] }]
        expect:
          latency: { degraded: 150ms, failed: 500ms }
          outputs:
            category: { notIn: [Unknown] }
            score: { range: [0, 1] }
routers:
  # The credit-scoring front end gives the model 200 ms: past 180 ms of p95 the router moves new
  # traffic to the secondary; a request unanswered at 120 ms is hedged; at 200 ms the heuristic answers.
  - name: credit
    listen: ${HOST}:${ROUTER_PORT}
    primary: credit-scorer
    secondaries: [credit-scorer-b]
    fallback: { module: ${HEURISTIC} }
    policy: { deadline: 200ms, failoverAt: 180ms, hedgeAfter: 120ms, idempotent: true, window: 5s, healthyFor: 5s }
alerting:
  routes:
    - match: { severity: [critical, warning] }
      notify: [demo-receiver]
      group_wait: 1s
      group_interval: 10s
  notifiers:
    demo-receiver: { type: webhook, url: http://${HOST}:${RECEIVER_PORT}/alerts }
`;

/** A local webhook receiver standing in for PagerDuty or Slack: it prints what it is sent. */
function startReceiver(): Promise<void> {
  const receiver = createServer((req, res) => {
    const restart = /^\/restart\/([\w-]+)$/.exec(req.url ?? '');
    if (req.method === 'POST' && restart !== null) {
      req.resume();
      void restartServer(restart[1] ?? '', req.headers.authorization).then(([status, text]) => {
        res.writeHead(status, { 'content-type': 'text/plain' }).end(text);
      });
      return;
    }
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      try {
        const n = JSON.parse(body) as {
          alerts: Array<{
            status: string;
            labels: Record<string, string>;
            annotations: Record<string, string>;
          }>;
        };
        for (const a of n.alerts) {
          const what = `${a.labels.alertname} ${a.labels.target}/${a.labels.check} (${a.labels.severity})`;
          const line = `receiver: ${a.status.toUpperCase()} ${what}: ${a.annotations.description ?? ''}`;
          if (a.status === 'firing') log.warn(line);
          else log.info(line);
        }
      } catch {
        log.error(`receiver: unreadable notification: ${body.slice(0, 200)}`);
      }
      res.writeHead(200).end();
    });
  });
  return new Promise((resolve, reject) => {
    receiver.once('error', reject);
    receiver.listen(RECEIVER_PORT, HOST, () => resolve());
    receiver.unref();
  });
}

/**
 * A model server's stdout through the demo's logger: its Fastify (pino) JSON records and its plain
 * lines become lines of the same format, tagged with the model.
 */
function relayServerLog(model: string, child: ChildProcess): void {
  if (!child.stdout) return;
  const levels: Record<number, 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'> = {
    10: 'trace',
    20: 'debug',
    30: 'info',
    40: 'warn',
    50: 'error',
    60: 'fatal',
  };
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line.trim() === '') return;
    try {
      const { level, msg, time: _time, pid: _pid, hostname: _host, ...fields } = JSON.parse(line);
      log[levels[level as number] ?? 'info']({ model, ...fields }, String(msg ?? ''));
    } catch {
      log.info({ model }, line);
    }
  });
}

const children: ChildProcess[] = [];
let stopping = false;
let stopHub: (() => Promise<void>) | undefined;

function stop(code: number): void {
  if (stopping) return;
  stopping = true;
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  const hubStopped = stopHub ? stopHub() : Promise.resolve();
  void hubStopped.finally(() => setTimeout(() => process.exit(code), 300).unref());
}

process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`no "${pattern}" within ${timeoutMs} ms`)), timeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const match = buffer.match(pattern);
      if (match) {
        clearTimeout(timer);
        resolve(match[0]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with code ${code} before it was listening`));
    });
  });
}

/** The running process of each model server, by target name. */
const processes = new Map<string, ChildProcess>();
/** Servers being restarted on purpose: their exit is no news. */
const restarting = new Set<string>();

/** Starts `s`'s model server process and waits until it listens. */
async function startServer(s: DemoServer): Promise<ChildProcess> {
  const args = ['serve', '--host', HOST, '--port', String(s.port), '--models', s.model];
  args.push('--loading-ms', String(s.loadingMs), '--enable-faults', '--log-level', 'warn');
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, MODEL_SERVER_ADMIN_TOKEN: TOKEN },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  processes.set(s.name, child);
  child.on('exit', (code, signal) => {
    if (!stopping && !restarting.has(s.name))
      log.error(`demo: ${s.name} server exited (code ${code}, signal ${signal})`);
  });
  await waitForLine(child, /serving .* at \S+/, 30_000);
  relayServerLog(s.model, child);
  return child;
}

/**
 * The recovery action's endpoint: kills `name`'s process if it still runs (a hung one does), starts
 * a fresh one (no faults) and answers once it listens.
 * @returns the HTTP status and text for the action's output
 */
async function restartServer(name: string, authorization: string | undefined): Promise<[number, string]> {
  if (authorization !== `Bearer ${TOKEN}`) return [401, 'restart: wrong or missing admin token'];
  const s = servers.find((x) => x.name === name);
  if (s === undefined) return [404, `restart: no model server named ${name}`];
  if (restarting.has(name)) return [409, `restart: ${name} is being restarted already`];
  restarting.add(name);
  try {
    const old = processes.get(name);
    if (old !== undefined && old.exitCode === null && old.signalCode === null) {
      const exited = new Promise((resolve) => old.once('exit', resolve));
      old.kill('SIGKILL');
      await exited;
    }
    log.warn(`demo: restarting ${name} (asked by Vigil's recovery action)`);
    const child = await startServer(s);
    return [200, `restarted ${name}: pid ${child.pid} listening at ${base(s)}`];
  } catch (err) {
    return [500, `restart of ${name} failed: ${(err as Error).message}`];
  } finally {
    restarting.delete(name);
  }
}

for (const s of servers) {
  try {
    await startServer(s);
  } catch (err) {
    log.fatal(`demo: ${s.name}: ${(err as Error).message}`);
    stop(1);
  }
}

await startReceiver();
mkdirSync(STATE_DIR, { recursive: true });
const configFile = join(STATE_DIR, 'demo.yaml');
writeFileSync(configFile, CONFIG);
writeFileSync(join(STATE_DIR, 'restart.mjs'), RESTART_SCRIPT);
const hub = await runHub({
  config: configFile,
  port: HUB_PORT,
  host: HOST,
  store: join(STATE_DIR, 'demo.db'),
  logLevel: LOG_LEVEL,
  logFormat: LOG_FORMAT,
  routers: true,
  routerAdminPort: ROUTER_ADMIN_PORT,
});
stopHub = hub.stop;
const routerUrl = hub.routers?.credit ?? `http://${HOST}:${ROUTER_PORT}`;

/**
 * A steady load through the router (open loop, LOAD_PER_SECOND), and every 5 s one line of who
 * answered: the switch to the secondary or the fallback shows there.
 */
function startLoad(): void {
  const served: Record<string, number> = {};
  const latencies: number[] = [];
  let failed = 0;
  const send = async () => {
    const started = performance.now();
    try {
      const res = await fetch(`${routerUrl}/v2/models/credit-scorer/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: credit.example,
      });
      await res.arrayBuffer();
      const by = res.headers.get('x-vigil-served-by') ?? 'none';
      if (res.ok) served[by] = (served[by] ?? 0) + 1;
      else failed++;
    } catch {
      failed++;
    }
    latencies.push(performance.now() - started);
  };
  setInterval(() => void send(), 1000 / LOAD_PER_SECOND).unref();
  setInterval(() => {
    latencies.sort((a, b) => a - b);
    const p99 = latencies[Math.max(0, Math.ceil(0.99 * latencies.length) - 1)] ?? 0;
    const by = ['primary', 'secondary', 'fallback'].map((k) => `${k} ${served[k] ?? 0}`).join(', ');
    log.info(`load: last 5 s through the router: ${by}, failed ${failed}; p99 ${Math.round(p99)} ms`);
    for (const k of Object.keys(served)) delete served[k];
    latencies.length = 0;
    failed = 0;
  }, 5000).unref();
}
/**
 * Waits (at most 60 s) until every model answers its OIP readiness endpoint with 200: load sent
 * while the weights are still loading only fails with 503 and pages for the warm-up.
 */
async function waitForModelsReady(): Promise<void> {
  for (const s of servers) {
    const url = `${base(s)}/v2/models/${s.model}/ready`;
    const deadline = Date.now() + 60_000;
    for (;;) {
      const res = await fetch(url).catch(() => undefined);
      await res?.arrayBuffer();
      if (res?.status === 200) break;
      if (Date.now() > deadline) {
        log.warn(`demo: ${s.name} not ready after 60 s (${url}); starting the load anyway`);
        break;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
await waitForModelsReady();
startLoad();

console.log('\nVigil demo: two example model servers, and the hub watching them.\n');
console.log(`hub        ${hub.url}`);
console.log(`  open ${hub.url}/ in a browser           the dashboard (live)`);
console.log(`  curl ${hub.url}/api/v1/status        every check's state`);
console.log(`  curl ${hub.url}/api/v1/incidents     open and past incidents`);
console.log(`  curl -N ${hub.url}/api/v1/events     live transitions (server-sent events)`);
console.log(`  curl ${hub.url}/metrics              Prometheus metrics`);
console.log(`  config: ${configFile} (edit it: the hub reloads it)\n`);
for (const s of servers) {
  console.log(`${s.name}  ${base(s)}`);
  console.log(
    `  curl -H 'content-type: application/json' -d '${s.example}' ${base(s)}/v2/models/${s.model}/infer\n`,
  );
}
console.log(`alert receiver  http://${HOST}:${RECEIVER_PORT}/alerts (prints what the hub notifies)\n`);
console.log('Break the credit-scorer (its answers turn NaN), watch the hub log the transitions and the');
console.log('receiver print the critical alert within seconds, then heal it and see it resolve:');
console.log(
  `  curl -X PUT -H 'authorization: Bearer ${TOKEN}' -H 'content-type: application/json' -d '{}' ${base(credit)}/admin/faults/nan`,
);
console.log(`  curl -X DELETE -H 'authorization: Bearer ${TOKEN}' ${base(credit)}/admin/faults`);
console.log('Or crash it: the hub marks it unhealthy and its recovery action restarts the process');
console.log("(restart-credit-scorer, a command action); the run is on the incident's page in the dashboard:");
console.log(
  `  curl -X PUT -H 'authorization: Bearer ${TOKEN}' -H 'content-type: application/json' -d '{}' ${base(credit)}/admin/faults/crash`,
);
console.log(
  `\nrouter credit  ${routerUrl} (primary credit-scorer, secondary credit-scorer-b, heuristic fallback;`,
);
console.log(
  `  ${LOAD_PER_SECOND} requests/s of demo load; admin and /metrics on http://${HOST}:${ROUTER_ADMIN_PORT})`,
);
console.log(
  `  curl -si -H 'content-type: application/json' -d '${credit.example}' ${routerUrl}/v2/models/credit-scorer/infer`,
);
console.log(
  'Slow the primary past the 200 ms deadline: the "load:" log lines show traffic moving to the secondary',
);
console.log(
  '(hedged at once, then all of it once p95 ≥ 180 ms), and the hub shows credit-scorer/traffic:credit',
);
console.log('degraded; slow the secondary too and the heuristic answers (x-vigil-served-by: fallback):');
console.log(
  `  curl -X PUT -H 'authorization: Bearer ${TOKEN}' -H 'content-type: application/json' -d '{"ms":250}' ${base(credit)}/admin/faults/latency`,
);
console.log(
  `  curl -X PUT -H 'authorization: Bearer ${TOKEN}' -H 'content-type: application/json' -d '{"ms":250}' ${base(creditB)}/admin/faults/latency`,
);
console.log(
  `  curl -X DELETE -H 'authorization: Bearer ${TOKEN}' ${base(credit)}/admin/faults    (and the same for ${base(creditB)})`,
);
console.log('Other fault modes: examples/model-server/README.md. Ctrl-C stops the demo.\n');
