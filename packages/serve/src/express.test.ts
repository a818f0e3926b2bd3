import http from 'node:http';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { describeAdapterContract } from './adapter-contract.js';
import { createExpressMiddleware } from './express.js';
import { createTestHealth, getJson, listen } from './test-support.js';

describeAdapterContract('Express 5', async (health) => {
  const app = express();
  app.use(createExpressMiddleware(health));
  app.get('/app', (_req, res) => {
    res.send('app');
  });
  return listen(http.createServer(app));
});

describe('Express adapter', () => {
  it('serves the paths relative to where it is mounted', async () => {
    const app = express();
    app.use('/ops', createExpressMiddleware(createTestHealth()));
    const { url } = await listen(http.createServer(app));
    expect((await getJson(`${url}/ops/readyz`)).body.status).toBe('ok');
    expect((await fetch(`${url}/readyz`)).status).toBe(404);
  });
});
