/**
 * Child of `hub-scale.ts`: cheap local endpoints for the scale benchmark. Starts `--ports` node:http
 * servers on 127.0.0.1 (ephemeral ports), each answering every request with a small OIP-shaped JSON
 * body, and prints `{"ports":[…]}` on one stdout line once all listen. Runs until killed.
 *
 *   taskset -c 0 node bench/dist/scale-endpoints.js --ports 256 [--keep-alive-ms 65000]
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    ports: { type: 'string', default: '256' },
    'keep-alive-ms': { type: 'string', default: '65000' },
  },
});
const PORTS = Number(values.ports);
const KEEP_ALIVE_MS = Number(values['keep-alive-ms']);

/** The same body as probe-cost.ts's endpoint, so the floor and the hub parse the same bytes. */
const SCALE_BODY = JSON.stringify({
  model_name: 'm',
  outputs: [{ name: 'probability', shape: [1, 1], datatype: 'FP32', data: [0.42] }],
});
const body = Buffer.from(SCALE_BODY);
const headers = { 'content-type': 'application/json', 'content-length': String(body.length) };

function listen(): Promise<number> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, headers);
    res.end(body);
  });
  // Longer than the check interval, as a model server behind a load balancer keeps connections.
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  server.headersTimeout = KEEP_ALIVE_MS + 1000;
  server.requestTimeout = 0;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

const ports: number[] = [];
for (let i = 0; i < PORTS; i++) ports.push(await listen());
process.stdout.write(`${JSON.stringify({ ports })}\n`);
