/**
 * Benchmark: what one probe costs the prober, in probes per second and CPU seconds per 10,000
 * probes, against a fixed local endpoint, side by side in one run:
 *
 *  - floor: a bare node:http GET + JSON.parse + one range check;
 *  - vigil: runProbe() — HTTP client with phase timings, the `http` protocol adapter, a JSONPath
 *    extract and a range assertion, producing a full ProbeResult;
 *  - blackbox_exporter (Debian package `prometheus-blackbox-exporter`): GET /probe with an http
 *    module that checks the status and matches the body with a regular expression (its closest
 *    equivalent of a JSON range check), CPU read from its process.
 *
 * Each in keep-alive and fresh-connection modes (blackbox_exporter opens a new connection for every
 * probe whatever the mode; its row is shown under "fresh"). The endpoint runs in its own process so
 * its CPU is not counted. CPU is the prober's user+system time (process.cpuUsage for the in-process
 * probers, /proc/<pid>/stat for blackbox_exporter).
 *
 *   apt-get install prometheus-blackbox-exporter
 *   npm run build && node bench/dist/probe-cost.js [--probes 10000] [--concurrency 8]
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { CheckPlan } from 'vigil-ml';
import { createHttpClient, runProbe } from 'vigil-ml';

const { values } = parseArgs({
  options: {
    probes: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '8' },
  },
});
const PROBES = Number(values.probes);
const CONCURRENCY = Number(values.concurrency);
const BODY = JSON.stringify({
  model_name: 'm',
  outputs: [{ name: 'probability', shape: [1, 1], datatype: 'FP32', data: [0.42] }],
});

/** The fixed endpoint, in its own process. */
async function startEndpoint(): Promise<{ url: string; stop: () => void }> {
  const script = `
    const http = require('node:http');
    const body = ${JSON.stringify(BODY)};
    const server = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    server.keepAliveTimeout = 60000;
    server.listen(0, '127.0.0.1', () => console.log('port ' + server.address().port));
  `;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once('data', (c: Buffer) => resolve(Number(c.toString().match(/port (\d+)/)?.[1])));
    child.once('exit', (code) => reject(new Error(`endpoint exited with ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill() };
}

/** Runs `probe` PROBES times with CONCURRENCY in flight; returns wall seconds. */
async function drive(probe: () => Promise<void>): Promise<number> {
  let started = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (started < PROBES) {
      started++;
      await probe();
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return (performance.now() - t0) / 1000;
}

interface Row {
  prober: string;
  mode: string;
  probesPerSecond: number;
  cpuSecondsPer10k: number;
}

async function measureInProcess(prober: string, mode: string, probe: () => Promise<void>): Promise<Row> {
  // Warm up the JIT and the connection pool, then measure.
  const saved = PROBES;
  for (let i = 0; i < Math.min(500, saved); i++) await probe();
  const cpu0 = process.cpuUsage();
  const seconds = await drive(probe);
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return {
    prober,
    mode,
    probesPerSecond: PROBES / seconds,
    cpuSecondsPer10k: (cpuSeconds / PROBES) * 10_000,
  };
}

function floorProbe(url: string, keepAlive: boolean): () => Promise<void> {
  const agent = new http.Agent({ keepAlive, maxSockets: CONCURRENCY });
  const headers = keepAlive ? {} : { connection: 'close' };
  return () =>
    new Promise<void>((resolve, reject) => {
      http
        .get(url, { agent, headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const doc = JSON.parse(Buffer.concat(chunks).toString()) as {
              outputs: Array<{ data: number[] }>;
            };
            const p = doc.outputs[0]?.data[0] as number;
            if (res.statusCode !== 200 || !(p >= 0 && p <= 1)) reject(new Error('floor probe failed'));
            else resolve();
          });
        })
        .on('error', reject);
    });
}

function vigilPlan(url: string): CheckPlan {
  return {
    id: 'bench/integrity',
    target: {
      name: 'bench',
      url,
      protocol: 'http',
      labels: {},
      headers: {},
      maxBodyBytes: 1024 * 1024,
      maxRedirects: 5,
    },
    kind: 'integrity',
    intervalMs: 10_000,
    timeoutMs: 2000,
    failureThreshold: 3,
    successThreshold: 1,
    fastIntervalMs: 1000,
    initialDelayMs: 0,
    request: { method: 'GET', path: '/' },
    extract: { probability: '$.body.outputs[0].data[0]' },
    expect: { outputs: { probability: { range: [0, 1] } } },
  };
}

function vigilProbe(
  url: string,
  keepAlive: boolean,
): { probe: () => Promise<void>; close: () => Promise<void> } {
  const client = createHttpClient({ keepAlive });
  const plan = vigilPlan(url);
  return {
    probe: async () => {
      const r = await runProbe(plan, { client });
      if (r.outcome !== 'pass') throw new Error(`vigil probe did not pass: ${JSON.stringify(r)}`);
    },
    close: () => client.close(),
  };
}

function processCpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  const ticks = Number(execFileSync('getconf', ['CLK_TCK']).toString());
  // Fields after "pid (comm) ": state is [0], utime is [11], stime is [12].
  return (Number(fields[11]) + Number(fields[12])) / ticks;
}

async function measureBlackbox(url: string): Promise<Row | string> {
  try {
    execFileSync('prometheus-blackbox-exporter', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'prometheus-blackbox-exporter not installed (apt-get install prometheus-blackbox-exporter): row skipped';
  }
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-bb-'));
  const config = join(dir, 'blackbox.yml');
  writeFileSync(
    config,
    `modules:
  json:
    prober: http
    timeout: 2s
    http:
      valid_status_codes: [200]
      fail_if_body_not_matches_regexp: ['"data":\\[0(\\.[0-9]+)?\\]']
`,
  );
  const port = 19000 + Math.floor(Math.random() * 1000);
  const child = spawn(
    'prometheus-blackbox-exporter',
    [`--config.file=${config}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=error'],
    { stdio: 'ignore' },
  );
  try {
    const probeUrl = `http://127.0.0.1:${port}/probe?module=json&target=${encodeURIComponent(`${url}/`)}`;
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const probe = () =>
      new Promise<void>((resolve, reject) => {
        http
          .get(probeUrl, { agent }, (res) => {
            let text = '';
            res.on('data', (c: Buffer) => {
              text += c.toString();
            });
            res.on('end', () =>
              text.includes('probe_success 1')
                ? resolve()
                : reject(new Error(`blackbox probe failed: ${text}`)),
            );
          })
          .on('error', reject);
      });
    for (let i = 0; i < 100; i++) {
      try {
        await probe();
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    for (let i = 0; i < 500; i++) await probe();
    const pid = child.pid as number;
    const cpu0 = processCpuSeconds(pid);
    const seconds = await drive(probe);
    const cpuSeconds = processCpuSeconds(pid) - cpu0;
    agent.destroy();
    return {
      prober: 'blackbox_exporter 0.23 (Debian)',
      mode: 'fresh',
      probesPerSecond: PROBES / seconds,
      cpuSecondsPer10k: (cpuSeconds / PROBES) * 10_000,
    };
  } finally {
    child.kill();
  }
}

const endpoint = await startEndpoint();
const rows: Row[] = [];
const notes: string[] = [];
try {
  for (const keepAlive of [true, false]) {
    const mode = keepAlive ? 'keep-alive' : 'fresh';
    rows.push(
      await measureInProcess(
        'floor: node:http + JSON.parse + range',
        mode,
        floorProbe(endpoint.url, keepAlive),
      ),
    );
    const v = vigilProbe(endpoint.url, keepAlive);
    rows.push(await measureInProcess('vigil runProbe', mode, v.probe));
    await v.close();
  }
  const bb = await measureBlackbox(endpoint.url);
  if (typeof bb === 'string') notes.push(bb);
  else rows.push(bb);
} finally {
  endpoint.stop();
}

const floorOf = (mode: string) => rows.find((r) => r.mode === mode && r.prober.startsWith('floor'));
const blackbox = rows.find((r) => r.prober.startsWith('blackbox'));
console.log(
  `\nProbe cost, ${PROBES} probes per row, ${CONCURRENCY} in flight, ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, Node ${process.version}\n`,
);
console.log('| prober | connections | probes/s | CPU s per 10k probes | × floor | × blackbox_exporter |');
console.log('| --- | --- | ---: | ---: | ---: | ---: |');
for (const r of rows) {
  const floor = floorOf(r.mode);
  const xFloor = floor ? (r.cpuSecondsPer10k / floor.cpuSecondsPer10k).toFixed(2) : '–';
  const xBb = blackbox ? (r.cpuSecondsPer10k / blackbox.cpuSecondsPer10k).toFixed(2) : '–';
  console.log(
    `| ${r.prober} | ${r.mode} | ${Math.round(r.probesPerSecond)} | ${r.cpuSecondsPer10k.toFixed(3)} | ${xFloor} | ${xBb} |`,
  );
}
for (const n of notes) console.log(`\n${n}`);
