import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterEach, describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const children: ChildProcess[] = [];

/** Runs the real CLI (TypeScript source through tsx) and collects its output. */
function run(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', MAIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, out: () => stdout, err: () => stderr };
}

async function serve(args: string[]) {
  const proc = run(['serve', '--port', '0', ...args]);
  for (let i = 0; i < 600; i++) {
    const m = proc.out().match(/serving .* at (http:\/\/\S+)/);
    if (m) return { ...proc, url: m[1] as string };
    if (proc.child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`server did not start: ${proc.err()}`);
}

const SPECS = fileURLToPath(new URL('../../../packages/vigil/specs/', import.meta.url));
const GrpcInference = (
  grpc.loadPackageDefinition(
    protoLoader.loadSync('open_inference_grpc.proto', {
      keepCase: true,
      longs: Number,
      defaults: true,
      includeDirs: [SPECS],
    }),
  ) as unknown as {
    inference: {
      GRPCInferenceService: new (address: string, credentials: grpc.ChannelCredentials) => grpc.Client;
    };
  }
).inference.GRPCInferenceService;

const CREDIT = JSON.stringify({
  inputs: [
    { name: 'features', shape: [1, 8], datatype: 'FP32', data: [0.3, 0.1, 0.5, 0.2, 0.9, 0.4, 0.0, 0.7] },
  ],
});
const infer = (url: string) =>
  fetch(`${url}/v2/models/credit-scorer/infer`, {
    method: 'POST',
    body: CREDIT,
    headers: { 'content-type': 'application/json' },
  });

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

describe('vigil-model-server CLI', () => {
  it('while loading weights: live 200, ready 503, inference 503; then ready', async () => {
    const { url } = await serve(['--models', 'credit-scorer', '--loading-ms', '1500']);
    expect((await fetch(`${url}/v2/health/live`)).status).toBe(200);
    const ready = await fetch(`${url}/v2/health/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ error: 'server is not ready: models are loading' });
    expect((await infer(url)).status).toBe(503);
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 50));
      status = (await fetch(`${url}/v2/health/ready`)).status;
    }
    expect(status).toBe(200);
    expect((await infer(url)).status).toBe(200);
  });

  it('starts with a fault from --fault', async () => {
    const { url } = await serve(['--enable-faults', '--admin-token', 't', '--fault', 'errors:status=502']);
    expect((await infer(url)).status).toBe(502);
  });

  it('refuses --fault without --enable-faults (exit 2)', async () => {
    const proc = run(['serve', '--port', '0', '--fault', 'nan']);
    expect(await proc.exited).toBe(2);
    expect(proc.err()).toContain('--fault needs --enable-faults');
  });

  it('rejects a malformed --fault with the field named (exit 2)', async () => {
    const proc = run(['serve', '--enable-faults', '--fault', 'latency:ms=fast']);
    expect(await proc.exited).toBe(2);
    expect(proc.err()).toContain('fault "latency": ms:');
  });

  it('switches faults on a running server with `fault set`, `fault list` and `fault clear`', async () => {
    const { url } = await serve(['--enable-faults', '--models', 'credit-scorer', '--admin-token', 'sesame']);
    const set = run(['fault', 'set', 'out-of-range', '--url', url], { MODEL_SERVER_ADMIN_TOKEN: 'sesame' });
    expect(await set.exited).toBe(0);
    const body = (await (await infer(url)).json()) as { outputs: Array<{ name: string; data: number[] }> };
    expect(body.outputs.find((o) => o.name === 'probability')?.data[0]).toBeGreaterThan(1);
    const list = run(['fault', 'list', '--url', url, '--token', 'sesame']);
    expect(await list.exited).toBe(0);
    expect(JSON.parse(list.out())).toEqual({ faults: { 'out-of-range': {} } });
    const clear = run(['fault', 'clear', '--url', url, '--token', 'sesame']);
    expect(await clear.exited).toBe(0);
    const after = (await (await infer(url)).json()) as { outputs: Array<{ name: string; data: number[] }> };
    expect(after.outputs.find((o) => o.name === 'probability')?.data[0]).toBeLessThanOrEqual(1);
    const wrong = run(['fault', 'set', 'nan', '--url', url, '--token', 'wrong']);
    expect(await wrong.exited).toBe(1);
    expect(wrong.err()).toContain('HTTP 401');
  });

  it('prints a generated admin token when none is given', async () => {
    const proc = await serve(['--enable-faults', '--models', 'credit-scorer']);
    const token = proc.out().match(/admin token \(generated[^)]*\): ([0-9a-f]{32})/)?.[1];
    expect(token).toBeDefined();
    const res = await fetch(`${proc.url}/admin/faults`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
  });

  it('crash: the process exits with the configured code', async () => {
    const proc = await serve(['--enable-faults', '--models', 'credit-scorer', '--admin-token', 't']);
    const res = await fetch(`${proc.url}/admin/faults/crash`, {
      method: 'PUT',
      headers: { authorization: 'Bearer t', 'content-type': 'application/json' },
      body: '{"exitCode": 3}',
    });
    expect(res.status).toBe(200);
    expect(await proc.exited).toBe(3);
    await expect(fetch(`${proc.url}/v2/health/live`)).rejects.toThrow();
  });

  it('SIGTERM: readiness fails during the shutdown delay, then the process exits 0', async () => {
    const proc = await serve(['--models', 'credit-scorer', '--shutdown-delay-ms', '600']);
    let ready = 0;
    for (let i = 0; i < 100 && ready !== 200; i++) {
      ready = (await fetch(`${proc.url}/v2/health/ready`)).status;
      if (ready !== 200) await new Promise((r) => setTimeout(r, 25));
    }
    expect(ready).toBe(200);
    proc.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 150));
    expect((await fetch(`${proc.url}/v2/health/ready`)).status).toBe(503);
    expect((await fetch(`${proc.url}/v2/health/live`)).status).toBe(200);
    expect(await proc.exited).toBe(0);
  });

  it('--grpc-port: OIP over gRPC beside REST (raw outputs asked); SIGTERM fails gRPC readiness first', async () => {
    const proc = await serve([
      '--models',
      'credit-scorer',
      '--grpc-port',
      '0',
      '--grpc-raw-outputs',
      '--shutdown-delay-ms',
      '600',
    ]);
    let grpcUrl: string | undefined;
    for (let i = 0; i < 200 && grpcUrl === undefined; i++) {
      grpcUrl = proc.out().match(/serving credit-scorer over gRPC at grpc:\/\/(\S+)/)?.[1];
      if (grpcUrl === undefined) await new Promise((r) => setTimeout(r, 25));
    }
    expect(grpcUrl).toBeDefined();
    const client = new GrpcInference(grpcUrl as string, grpc.credentials.createInsecure());
    try {
      const call = (method: string, request: unknown) =>
        new Promise<{ error?: grpc.ServiceError; value?: Record<string, unknown> }>((resolve) =>
          (client as unknown as Record<string, (...a: unknown[]) => void>)[method]?.call(
            client,
            request,
            { deadline: Date.now() + 5000 },
            (error: grpc.ServiceError | null, value: Record<string, unknown>) =>
              resolve(error ? { error } : { value }),
          ),
        );
      let ready = false;
      for (let i = 0; i < 200 && !ready; i++) {
        ready = (await call('ServerReady', {})).value?.ready === true;
        if (!ready) await new Promise((r) => setTimeout(r, 25));
      }
      expect(ready).toBe(true);
      const infer = await call('ModelInfer', {
        model_name: 'credit-scorer',
        inputs: [
          {
            name: 'features',
            datatype: 'FP32',
            shape: [1, 8],
            contents: { fp32_contents: [0.3, 0.1, 0.5, 0.2, 0.9, 0.4, 0.0, 0.7] },
          },
        ],
      });
      expect(infer.error).toBeUndefined();
      expect(infer.value?.raw_output_contents).toHaveLength(2);
      proc.child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 150));
      expect((await call('ServerReady', {})).value).toEqual({ ready: false });
      expect((await call('ServerLive', {})).value).toEqual({ live: true });
      expect(await proc.exited).toBe(0);
    } finally {
      client.close();
    }
  });

  it('refuses --grpc-raw-outputs without --grpc-port (exit 2)', async () => {
    const proc = run(['serve', '--port', '0', '--grpc-raw-outputs']);
    expect(await proc.exited).toBe(2);
    expect(proc.err()).toContain('--grpc-raw-outputs needs --grpc-port');
  });
});
