/**
 * The real `vigil check` process against the example model server in every fault mode, over the
 * Open Inference Protocol's REST API (`oip-v2`) and its gRPC API (`oip-grpc`): the outcome and reason
 * it reports on the liveness, readiness and integrity rows. One table: both transports must judge
 * every fault alike.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createModelServer, type FaultMode, type ModelServer, parseFault } from '@vigil/example-model-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Outcome, ProbeResult } from '../types.js';

const ENTRY = fileURLToPath(new URL('./bin.ts', import.meta.url));

function config(url: string, protocol = 'oip-v2'): string {
  return `
defaults: { timeout: 1s, interval: 10s }
targets:
  - name: credit
    url: ${url}
    protocol: ${protocol}
    model: credit-scorer
    checks:
      liveness: {}
      readiness: {}
      integrity:
        request:
          inputs: [{ name: features, shape: [1, 8], datatype: FP32, data: [0.3, 0.1, 0.5, 0.2, 0.9, 0.4, 0.0, 0.7] }]
        expect:
          latency: { degraded: 200ms, failed: 500ms }
          outputs:
            probability: { range: [0, 1] }
            label: { notIn: [Unknown] }
  - name: products
    url: ${url}
    protocol: ${protocol}
    model: product-categorizer
    checks:
      integrity:
        request:
          inputs: [{ name: title, shape: [1], datatype: BYTES, data: [wireless bluetooth headphones] }]
        expect:
          latency: { degraded: 200ms, failed: 500ms }
          outputs:
            category: { notIn: [Unknown] }
            score: { range: [0, 1] }
`;
}

/** Runs the CLI in a child process; resolves its exit code and output (killed after 20 s). */
function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', ENTRY, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    // Generous: a CLI spawn from source took 26 s of wall time at load 33 on 2 cores.
    const timer = setTimeout(() => child.kill('SIGKILL'), 100_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs `vigil check -c file --json`; resolves its exit code and results. */
async function vigilCheck(
  file: string,
): Promise<{ code: number | null; results: ProbeResult[]; stderr: string }> {
  const { code, stdout, stderr } = await run(['check', '-c', file, '--json']);
  try {
    return { code, results: stdout ? (JSON.parse(stdout) as ProbeResult[]) : [], stderr };
  } catch (e) {
    throw new Error(`vigil check printed no JSON (${(e as Error).message}): ${stdout}\n${stderr}`);
  }
}

type Row = [Outcome, RegExp?];
interface Case {
  fault: FaultMode | 'none';
  params?: Record<string, unknown>;
  liveness: Row;
  readiness: Row;
  integrity: Row;
  /** The product-categorizer's integrity row. */
  products: Row;
  exit: 0 | 1;
}

const PASS: Row = ['pass'];

const CASES: Case[] = [
  { fault: 'none', liveness: PASS, readiness: PASS, integrity: PASS, products: PASS, exit: 0 },
  {
    fault: 'latency',
    params: { ms: 250 },
    liveness: PASS,
    readiness: PASS,
    integrity: ['degraded', /latency .* degraded/],
    products: ['degraded', /latency .* degraded/],
    exit: 0,
  },
  {
    fault: 'latency',
    params: { ms: 600 },
    liveness: PASS,
    readiness: PASS,
    integrity: ['fail', /latency .* failed/],
    products: ['fail', /latency .* failed/],
    exit: 1,
  },
  {
    fault: 'errors',
    liveness: PASS,
    readiness: PASS,
    integrity: ['fail', /500|INTERNAL/],
    products: ['fail', /500|INTERNAL/],
    exit: 1,
  },
  {
    fault: 'hang',
    liveness: PASS,
    readiness: PASS,
    integrity: ['fail', /TIMEOUT/],
    products: ['fail', /TIMEOUT/],
    exit: 1,
  },
  {
    fault: 'empty',
    liveness: PASS,
    readiness: PASS,
    integrity: ['fail', /empty/],
    products: ['fail', /empty/],
    exit: 1,
  },
  {
    fault: 'unknown',
    liveness: PASS,
    readiness: PASS,
    integrity: ['fail', /Unknown/],
    products: ['fail', /Unknown/],
    exit: 1,
  },
  {
    // An upstream schema break: the credit answer stays plausible (only a canary baseline sees it),
    // the categorizer's collapses to Unknown.
    fault: 'zero-features',
    liveness: PASS,
    readiness: PASS,
    integrity: PASS,
    products: ['fail', /Unknown/],
    exit: 1,
  },
  {
    fault: 'nan',
    liveness: PASS,
    readiness: PASS,
    integrity: ['fail', /NON_FINITE_NUMBER/],
    products: ['fail', /NON_FINITE_NUMBER/],
    exit: 1,
  },
  {
    fault: 'out-of-range',
    liveness: PASS,
    readiness: PASS,
    integrity: ['fail', /not in \[0, 1\]/],
    products: ['fail', /not in \[0, 1\]/],
    exit: 1,
  },
  {
    fault: 'wrong-schema',
    liveness: PASS,
    readiness: PASS,
    integrity: ['fail', /outputs/],
    products: ['fail', /outputs/],
    exit: 1,
  },
  // Drift keeps every answer valid and in range: the integrity check passes; catching it is the
  // canary's job (baseline comparison).
  { fault: 'drift', liveness: PASS, readiness: PASS, integrity: PASS, products: PASS, exit: 0 },
  {
    fault: 'not-ready',
    liveness: PASS,
    readiness: ['fail', /ready/],
    integrity: ['fail', /503|not ready/],
    products: ['fail', /503|not ready/],
    exit: 1,
  },
];

let server: ModelServer;
let dir: string;
const files: Record<string, string> = {};

beforeAll(async () => {
  server = await createModelServer({ faults: { enabled: true, token: 't' }, warmupInferences: 1 });
  const url = await server.listen();
  for (let i = 0; i < 200 && (await fetch(`${url}/v2/health/ready`)).status !== 200; i++) {
    await new Promise((r) => setTimeout(r, 25));
  }
  const grpcUrl = await server.listenGrpc();
  dir = mkdtempSync(join(tmpdir(), 'vigil-check-'));
  for (const [protocol, base] of [
    ['oip-v2', url],
    ['oip-grpc', grpcUrl],
  ] as const) {
    files[protocol] = join(dir, `${protocol}.yaml`);
    writeFileSync(files[protocol], config(base, protocol));
  }
});
afterAll(async () => {
  await server?.close();
});

function expectRow(results: ProbeResult[], checkId: string, [outcome, reason]: Row): void {
  const r = results.find((x) => x.checkId === checkId);
  expect(r, `${checkId} in results`).toBeDefined();
  const seen = `${r?.error ? `${r.error.code}: ${r.error.message} | ` : ''}${r?.failures.map((f) => f.message).join(' | ')}`;
  expect(r?.outcome, `${checkId}: ${seen}`).toBe(outcome);
  if (reason) expect(seen).toMatch(reason);
}

describe.each(['oip-v2', 'oip-grpc'])(
  'vigil check (%s) against the example model server in every fault mode',
  (protocol) => {
    it.each(CASES)('$fault $params', async (c) => {
      server.faults.clear();
      if (c.fault !== 'none') server.faults.set(c.fault, parseFault(c.fault, c.params ?? {}));
      const { code, results, stderr } = await vigilCheck(files[protocol] as string);
      expect(stderr).toBe('');
      expectRow(results, 'credit/liveness', c.liveness);
      expectRow(results, 'credit/readiness', c.readiness);
      expectRow(results, 'credit/integrity', c.integrity);
      expectRow(results, 'products/integrity', c.products);
      expect(code).toBe(c.exit);
    });

    it('crash: every check fails with CONNECTION_REFUSED', async () => {
      const crashing = await createModelServer({
        models: ['credit-scorer'],
        faults: { enabled: true, token: 't' },
        warmupInferences: 0,
        exit: () => void crashing.close(),
      });
      const url = await crashing.listen();
      const grpcUrl = await crashing.listenGrpc();
      const crashFile = join(dir, `crash-${protocol}.yaml`);
      writeFileSync(crashFile, config(protocol === 'oip-grpc' ? grpcUrl : url, protocol));
      crashing.faults.clear();
      const res = await fetch(`${url}/admin/faults/crash`, {
        method: 'PUT',
        headers: { authorization: 'Bearer t' },
      });
      expect(res.status).toBe(200);
      for (let i = 0; i < 100; i++) {
        const up = await fetch(`${url}/v2/health/live`).then(
          () => true,
          () => false,
        );
        if (!up) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      const { code, results } = await vigilCheck(crashFile);
      for (const id of ['credit/liveness', 'credit/readiness', 'credit/integrity', 'products/integrity']) {
        expectRow(results, id, ['fail', /CONNECTION_REFUSED/]);
      }
      expect(code).toBe(1);
    });
  },
);

describe('vigil check --url over gRPC against endpoints that misbehave below OIP', () => {
  it.each([
    // grpc-js reconnects with back-off until the deadline; the closes it saw make it CONNECTION_RESET.
    ['accepts and resets every connection', (socket: Socket) => socket.destroy(), /^CONNECTION_RESET$/],
    ['accepts and never speaks', () => {}, /^TIMEOUT$/],
  ] as const)('%s: the right code within the timeout', async (_, onConnection, code) => {
    const sockets = new Set<Socket>();
    const listener = createServer((socket) => {
      sockets.add(socket);
      onConnection(socket);
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const { port } = listener.address() as AddressInfo;
    try {
      const { code: exit, stdout } = await run([
        'check',
        '--url',
        `grpc://127.0.0.1:${port}`,
        '--protocol',
        'oip-grpc',
        '--model',
        'm',
        '--timeout',
        '500',
        '--json',
      ]);
      const { results } = JSON.parse(stdout) as { results: ProbeResult[] };
      expect(results.length).toBeGreaterThan(0);
      for (const result of results) {
        expect(result.outcome).toBe('fail');
        expect(result.error?.code).toMatch(code);
        // Ten times the timeout: under grpc-js's own 20 s connect timeout, above a loaded scheduler's delays.
        expect(result.durationMs).toBeLessThan(5_000);
      }
      expect(exit).toBe(1);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => listener.close(resolve));
    }
  });
});
