import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createNodeHandler } from './node-http.js';
import { createTestHealth, deferred, getJson, listen, STACK_FRAME, waitFor } from './test-support.js';

describe('model self-test', () => {
  it('shares one run between concurrent HTTP requests (single-flight)', async () => {
    let runs = 0;
    const release = deferred();
    const health = createTestHealth({
      selfTest: {
        payload: [0.5, 0.5],
        run: async (input: number[]) => {
          runs++;
          await release.promise;
          return input.map((x) => x * 2);
        },
        cacheMs: 0,
      },
    });
    const server = http.createServer(createNodeHandler(health));
    let received = 0;
    server.on('request', () => received++);
    const { url } = await listen(server);
    const answers = Array.from({ length: 10 }, () => getJson(`${url}/healthz/model`));
    await waitFor(() => received === 10, { what: 'all 10 requests to arrive' });
    release.resolve();
    const responses = await Promise.all(answers);
    expect(responses.map((response) => response.status)).toEqual(Array(10).fill(200));
    expect(runs).toBe(1);
  });

  it('reuses a result within cacheMs and says so with verbose', async () => {
    let runs = 0;
    const health = createTestHealth({ selfTest: { run: () => ++runs, cacheMs: 60_000 } });
    const first = await health.check('model', { verbose: true });
    const second = await health.check('model', { verbose: true });
    expect(runs).toBe(1);
    expect(first.body.checks.model).toMatchObject({ status: 'ok', cached: false, ageMs: 0 });
    expect(second.body.checks.model).toMatchObject({
      status: 'ok',
      cached: true,
      checkedAt: expect.any(String),
    });
  });

  it('runs again once the cached result is older than cacheMs', async () => {
    let runs = 0;
    const health = createTestHealth({ selfTest: { run: () => ++runs, cacheMs: 20 } });
    await health.check('model');
    await sleep(40);
    await health.check('model');
    expect(runs).toBe(2);
  });

  it('caches failures too, so a broken model is not run on every probe', async () => {
    let runs = 0;
    const health = createTestHealth({
      selfTest: {
        run: () => {
          runs++;
          throw new Error('CUDA out of memory');
        },
        cacheMs: 60_000,
      },
    });
    expect((await health.check('model')).statusCode).toBe(503);
    expect((await health.check('model')).statusCode).toBe(503);
    expect(runs).toBe(1);
  });

  it('answers 503 listing every validation problem, with the output summary under verbose', async () => {
    const health = createTestHealth({
      selfTest: {
        payload: new Float32Array([1, 2]),
        run: (input: Float32Array) => new Float32Array([input[0] ?? 0, Number.NaN, 1.7]),
        validate: (output) => {
          const problems: string[] = [];
          output.forEach((p, i) => {
            if (!Number.isFinite(p)) problems.push(`probability[${i}] is ${p}, expected a finite number`);
            else if (p < 0 || p > 1) problems.push(`probability[${i}] is ${p.toFixed(1)}, outside [0, 1]`);
          });
          return problems;
        },
      },
    });
    const plain = await health.check('model');
    expect(plain.statusCode).toBe(503);
    const problems = [
      'probability[1] is NaN, expected a finite number',
      'probability[2] is 1.7, outside [0, 1]',
    ];
    expect(plain.body).toEqual({
      status: 'error',
      checks: {
        model: { status: 'error', error: `output failed validation: ${problems.join('; ')}`, problems },
      },
    });
    const verbose = await health.check('model', { verbose: true });
    expect(verbose.body.checks.model?.output).toEqual({ type: 'Float32Array', length: 3 });
  });

  it('answers 503 with the message and no stack when run() throws', async () => {
    const health = createTestHealth({
      selfTest: {
        run: () => {
          throw new RangeError('input tensor has shape [1, 7], expected [1, 8]');
        },
      },
    });
    const { statusCode, body } = await health.check('model', { verbose: true });
    expect(statusCode).toBe(503);
    expect(body.checks.model).toMatchObject({
      status: 'error',
      error: 'run() threw: input tensor has shape [1, 7], expected [1, 8]',
    });
    expect(JSON.stringify(body)).not.toMatch(STACK_FRAME);
  });

  it('fails a run over timeoutMs, aborts it, and starts no new run while the hung one is pending', async () => {
    let runs = 0;
    let wasAborted = false;
    const hang = deferred<number>();
    const health = createTestHealth({
      selfTest: {
        run: (_payload, { signal }) => {
          runs++;
          signal.addEventListener('abort', () => {
            wasAborted = true;
          });
          return hang.promise;
        },
        timeoutMs: 20,
        cacheMs: 0,
      },
    });
    const first = await health.check('model');
    expect(first.statusCode).toBe(503);
    expect(first.body.checks.model).toEqual({ status: 'error', error: 'self-test timed out after 20 ms' });
    expect(wasAborted).toBe(true);

    const second = await health.check('model');
    expect(second.statusCode).toBe(503);
    expect(second.body.checks.model?.error).toMatch(
      /^the previous run timed out after 20 ms and has still not settled after \d+ ms; not starting another$/,
    );
    expect(runs).toBe(1);

    hang.resolve(1);
    await sleep(0);
    expect((await health.check('model')).statusCode).toBe(200);
    expect(runs).toBe(2);
  });

  it('does not run the model before warm-up has finished', async () => {
    let runs = 0;
    const warm = deferred();
    const health = createTestHealth({ warmup: () => warm.promise, selfTest: { run: () => ++runs } });
    const { statusCode, body } = await health.check('model');
    expect(statusCode).toBe(503);
    expect(body.checks.model).toEqual({ status: 'error', error: 'not run: warm-up has not finished' });
    expect(runs).toBe(0);
    warm.resolve();
    await health.waitForWarmup();
    expect((await health.check('model')).statusCode).toBe(200);
    expect(runs).toBe(1);
  });

  it('shows a custom summary, and a message instead of a summary that is not JSON', async () => {
    const health = createTestHealth({
      selfTest: { run: () => ({ label: 'fraud', score: 0.93 }), summarize: (output) => output.label },
    });
    expect((await health.check('model', { verbose: true })).body.checks.model?.output).toBe('fraud');

    const broken = createTestHealth({ selfTest: { run: () => 1, summarize: () => 10n } });
    const { statusCode, body } = await broken.check('model', { verbose: true });
    expect(statusCode).toBe(200);
    expect(body.checks.model?.output).toMatch(/^summarize\(\) failed: /);
  });
});
