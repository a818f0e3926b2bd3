/**
 * Child of `hub-scale.ts`: the bare node:http floor (GET + JSON.parse + one range check), run on the
 * hub's core so the ratio compares like with like. Prints one JSON line.
 *
 * - `--mode burst`: probe-cost.ts's floor, keep-alive: `--probes` probes with `--concurrency` in flight
 *   against one port, after 500 warm-up probes.
 * - `--mode paced`: the same probe, but scheduled as the hub schedules: `--checks` timers at
 *   `--interval-ms`, spread over the interval, across the same ports and agent settings as the hub's
 *   client (keep-alive, 8 sockets per origin, lifo). CPU per probe over `--measure-s` after `--warmup-s`.
 *   This is the floor at the hub's rate and spread: per-probe timer and socket wake-ups included.
 *   `--slack-ms N` puts the first due times on an N ms grid (N probes' worth of timers fire together),
 *   to price per-probe wake-ups against batched ones.
 */
import http from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'burst' },
    ports: { type: 'string' },
    probes: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '8' },
    checks: { type: 'string', default: '10000' },
    'per-target': { type: 'string', default: '1' },
    'interval-ms': { type: 'string', default: '10000' },
    'warmup-s': { type: 'string', default: '30' },
    'measure-s': { type: 'string', default: '60' },
    'slack-ms': { type: 'string', default: '1' },
  },
});
if (values.ports === undefined) throw new Error('--ports is required');
const PORTS = values.ports.split(',').map(Number);

const agent = new http.Agent({ keepAlive: true, maxSockets: 8, maxFreeSockets: 8, scheduling: 'lifo' });

function probe(url: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const doc = JSON.parse(Buffer.concat(chunks).toString()) as { outputs: Array<{ data: number[] }> };
          const p = doc.outputs[0]?.data[0] as number;
          if (res.statusCode !== 200 || !(p >= 0 && p <= 1)) reject(new Error('floor probe failed'));
          else resolve();
        });
      })
      .on('error', reject);
  });
}

const cpuMs = (since: NodeJS.CpuUsage): number => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
};

if (values.mode === 'burst') {
  const PROBES = Number(values.probes);
  const url = `http://127.0.0.1:${PORTS[0]}/`;
  for (let i = 0; i < 500; i++) await probe(url);
  let started = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const worker = async () => {
    while (started < PROBES) {
      started++;
      await probe(url);
    }
  };
  await Promise.all(Array.from({ length: Number(values.concurrency) }, worker));
  const seconds = (performance.now() - t0) / 1000;
  console.log(
    JSON.stringify({ cpuMsPerProbe: cpuMs(cpu0) / PROBES, probesPerSecond: PROBES / seconds, failed: 0 }),
  );
  agent.destroy();
} else {
  const CHECKS = Number(values.checks);
  const PER_TARGET = Number(values['per-target']);
  const INTERVAL_MS = Number(values['interval-ms']);
  const SLACK_MS = Number(values['slack-ms']);
  let done = 0;
  let failed = 0;
  const timers: NodeJS.Timeout[] = [];
  for (let i = 0; i < CHECKS; i++) {
    const t = Math.floor(i / PER_TARGET);
    const url = `http://127.0.0.1:${PORTS[t % PORTS.length]}/model-${t}/integrity`;
    const run = () =>
      probe(url).then(
        () => done++,
        () => failed++,
      );
    const first = setTimeout(
      () => {
        void run();
        timers.push(setInterval(run, INTERVAL_MS));
      },
      Math.floor(Math.random() * (INTERVAL_MS / SLACK_MS)) * SLACK_MS,
    );
    timers.push(first);
  }
  await new Promise((r) => setTimeout(r, Number(values['warmup-s']) * 1000));
  const done0 = done;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, Number(values['measure-s']) * 1000));
  const probes = done - done0;
  const seconds = (performance.now() - t0) / 1000;
  console.log(
    JSON.stringify({
      cpuMsPerProbe: cpuMs(cpu0) / probes,
      probesPerSecond: probes / seconds,
      failed,
      rssMb: process.memoryUsage().rss / 2 ** 20,
    }),
  );
  for (const timer of timers) clearTimeout(timer);
  agent.destroy();
}
