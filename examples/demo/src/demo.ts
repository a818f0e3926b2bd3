/**
 * The demo (`npm start`): both example models, each in its own server process with fault injection
 * enabled, and how to call them. The hub joins the demo with the hub issue.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/model-server.js', import.meta.url));
const HOST = process.env.DEMO_HOST ?? '127.0.0.1';
const TOKEN = process.env.MODEL_SERVER_ADMIN_TOKEN ?? 'demo-token';

interface DemoServer {
  model: string;
  port: number;
  loadingMs: number;
  example: string;
}

const servers: DemoServer[] = [
  {
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
    model: 'product-categorizer',
    port: Number(process.env.DEMO_CATEGORIZER_PORT ?? 8082),
    loadingMs: 1000,
    example: JSON.stringify({
      inputs: [{ name: 'title', shape: [1], datatype: 'BYTES', data: ['wireless bluetooth headphones'] }],
    }),
  },
];

const children: ChildProcess[] = [];
let stopping = false;

function stop(code: number): void {
  stopping = true;
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  setTimeout(() => process.exit(code), 500).unref();
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

for (const s of servers) {
  const child = spawn(
    process.execPath,
    [
      BIN,
      'serve',
      '--host',
      HOST,
      '--port',
      String(s.port),
      '--models',
      s.model,
      '--loading-ms',
      String(s.loadingMs),
      '--enable-faults',
      '--log-level',
      'warn',
    ],
    { env: { ...process.env, MODEL_SERVER_ADMIN_TOKEN: TOKEN }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(child);
  child.on('exit', (code, signal) => {
    if (!stopping) console.log(`[demo] ${s.model} server exited (code ${code}, signal ${signal})`);
  });
  try {
    await waitForLine(child, /serving .* at \S+/, 30_000);
  } catch (err) {
    console.error(`[demo] ${s.model}: ${(err as Error).message}`);
    stop(1);
  }
  child.stdout?.pipe(process.stdout);
}

const base = (s: DemoServer) => `http://${HOST}:${s.port}`;
console.log(
  '\nVigil demo: example model servers are up (warm-up takes a few seconds; readiness says when).\n',
);
for (const s of servers) {
  console.log(`${s.model}  ${base(s)}`);
  console.log(`  curl ${base(s)}/v2/health/ready`);
  console.log(`  curl ${base(s)}/v2/models/${s.model}`);
  console.log(
    `  curl -H 'content-type: application/json' -d '${s.example}' ${base(s)}/v2/models/${s.model}/infer\n`,
  );
}
const first = servers[0] as DemoServer;
console.log('Inject a fault (token "demo-token"; modes in examples/model-server/README.md), then clear it:');
console.log(
  `  curl -X PUT -H 'authorization: Bearer ${TOKEN}' -H 'content-type: application/json' -d '{}' ${base(first)}/admin/faults/nan`,
);
console.log(`  curl -X DELETE -H 'authorization: Bearer ${TOKEN}' ${base(first)}/admin/faults`);
console.log('\nCtrl-C stops the demo.');
