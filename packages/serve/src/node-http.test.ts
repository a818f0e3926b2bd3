import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { describeAdapterContract } from './adapter-contract.js';
import { createNodeHandler } from './node-http.js';
import { createTestHealth, listen } from './test-support.js';

function app(req: http.IncomingMessage, res: http.ServerResponse): void {
  if (req.url === '/app') res.end('app');
  else res.writeHead(404).end();
}

describeAdapterContract('node:http', async (health) =>
  listen(http.createServer(createNodeHandler(health, app))),
);

describe('node:http adapter', () => {
  it('returns true for the requests it answers and false for the rest, other methods included', async () => {
    const handleHealth = createNodeHandler(createTestHealth());
    const returned: Record<string, boolean> = {};
    const { url } = await listen(
      http.createServer((req, res) => {
        const isHealth = handleHealth(req, res);
        returned[`${req.method} ${req.url}`] = isHealth;
        if (!isHealth) app(req, res);
      }),
    );
    await fetch(`${url}/readyz?verbose`);
    await fetch(`${url}/app`);
    await fetch(`${url}/readyz`, { method: 'POST' });
    await fetch(`${url}/readyz/`);
    expect(returned).toEqual({
      'GET /readyz?verbose': true,
      'GET /app': false,
      'POST /readyz': false,
      'GET /readyz/': false,
    });
  });
});
