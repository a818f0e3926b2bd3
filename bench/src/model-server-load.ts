/**
 * Benchmark: inference throughput and latency of the example model server at 1, 8 and 64
 * concurrent clients, per model. Later probe-overhead figures use these numbers as their
 * denominator.
 *
 * The server runs in its own process (as in production) and wrk (Debian package `wrk`) drives it
 * over loopback from one thread with keep-alive connections, one request in flight per connection.
 * wrk reports latency percentiles in microseconds (autocannon rounds to whole milliseconds, too
 * coarse for a sub-millisecond model).
 *
 *   apt-get install wrk
 *   npm run build && node bench/dist/model-server-load.js [--duration 10] [--connections 1,8,64]
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '1,8,64' },
  },
});
const durationSeconds = Number(values.duration);
const connectionCounts = values.connections.split(',').map(Number);

const BIN = fileURLToPath(new URL('../../examples/model-server/bin/model-server.js', import.meta.url));

const BODIES: Record<string, string> = {
  'credit-scorer': JSON.stringify({
    inputs: [
      { name: 'features', shape: [1, 8], datatype: 'FP32', data: [0.3, 0.1, 0.5, 0.2, 0.9, 0.4, 0.0, 0.7] },
    ],
  }),
  'product-categorizer': JSON.stringify({
    inputs: [{ name: 'title', shape: [1], datatype: 'BYTES', data: ['stainless steel chef knife 8 inch'] }],
  }),
};

async function startServer(): Promise<{ url: string; stop: () => void }> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--warmup-inferences', '50'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('server did not start within 30 s')), 30_000);
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = out.match(/serving .* at (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  for (let i = 0; i < 400; i++) {
    if ((await fetch(`${url}/v2/health/ready`)).status === 200) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  return { url, stop: () => child.kill('SIGTERM') };
}

interface Row {
  model: string;
  connections: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-'));

/** A wrk script that POSTs `body` and prints the summary as one JSON line. */
function wrkScript(model: string): string {
  const file = join(dir, `${model}.lua`);
  writeFileSync(
    file,
    `wrk.method = "POST"
wrk.body = ${JSON.stringify(BODIES[model])}
wrk.headers["content-type"] = "application/json"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK {"requests":%d,"durationUs":%d,"p50Us":%d,"p99Us":%d,"errors":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout + e.status))
end
`,
  );
  return file;
}

async function wrk(url: string, model: string, connections: number, seconds: number) {
  const { stdout } = await promisify(execFile)('wrk', [
    '-t1',
    `-c${connections}`,
    `-d${seconds}s`,
    '--timeout',
    '5s',
    '-s',
    wrkScript(model),
    `${url}/v2/models/${model}/infer`,
  ]);
  const line = stdout.split('\n').find((l) => l.startsWith('WRK '));
  if (!line) throw new Error(`wrk printed no summary:\n${stdout}`);
  return JSON.parse(line.slice(4)) as {
    requests: number;
    durationUs: number;
    p50Us: number;
    p99Us: number;
    errors: number;
  };
}

async function measure(url: string, model: string, connections: number): Promise<Row> {
  const r = await wrk(url, model, connections, durationSeconds);
  return {
    model,
    connections,
    requestsPerSecond: r.requests / (r.durationUs / 1e6),
    p50Ms: r.p50Us / 1000,
    p99Ms: r.p99Us / 1000,
    errors: r.errors,
  };
}

const { url, stop } = await startServer();
const rows: Row[] = [];
try {
  for (const model of Object.keys(BODIES)) {
    // A short warm run so JIT and onnxruntime caches are hot before the measured ones.
    await wrk(url, model, 8, 2);
    for (const c of connectionCounts) rows.push(await measure(url, model, c));
  }
} finally {
  stop();
}

const cpu = cpus()[0]?.model ?? 'unknown CPU';
console.log(
  `\nExample model server, POST /v2/models/{m}/infer, ${durationSeconds} s per row, ${cpus().length} × ${cpu}, Node ${process.version}\n`,
);
console.log('| model | concurrent clients | requests/s | p50 ms | p99 ms | errors |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) {
  console.log(
    `| ${r.model} | ${r.connections} | ${Math.round(r.requestsPerSecond)} | ${r.p50Ms.toFixed(3)} | ${r.p99Ms.toFixed(3)} | ${r.errors} |`,
  );
}
