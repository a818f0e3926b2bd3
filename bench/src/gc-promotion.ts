/**
 * Benchmark (diagnostic): how much of a paced HTTP prober's garbage the young generation promotes,
 * and what that costs, with and without a large long-lived heap and with the `vigil` binary's V8
 * flags. It isolates what the hub-scale profile showed: the hub promoted ~2 MB per scavenge (5 kB per
 * probe), mostly objects of the HTTP request path that live well under a millisecond.
 *
 * Each row runs one child, pinned to `--core`, that probes `--checks` URLs every 10 s, spread over the
 * interval, as scale-floor's paced mode does, through either a bare node:http GET (`bare`) or Vigil's
 * `createHttpClient` (`vigil`); `--ballast-mb` first allocates that much of long-lived small objects
 * (the hub's per-check state and loaded code are ~60 MB at 10,000 checks). The child runs under
 * `--trace-gc-nvp`; over the measured window the parent sums each scavenge's `allocated`, `promoted`
 * and pause. Endpoints: `scale-endpoints.ts` on `--endpoint-core`.
 *
 *   npm run build && node bench/dist/gc-promotion.js [--checks 10000] [--warmup-s 10] [--measure-s 20]
 *     [--ballast-mb 0,60] [--clients bare,vigil] [--flags default,vigil]
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import { cpus, release } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createHttpClient } from 'vigil-ml';
import { startScaleEndpoints } from './scale-children.js';
import { vigilNodeFlags } from './vigil-flags.js';

const { values } = parseArgs({
  options: {
    child: { type: 'boolean', default: false },
    client: { type: 'string', default: 'bare' },
    ports: { type: 'string' },
    checks: { type: 'string', default: '10000' },
    'warmup-s': { type: 'string', default: '10' },
    'measure-s': { type: 'string', default: '20' },
    'ballast-mb': { type: 'string', default: '0,60' },
    clients: { type: 'string', default: 'bare,vigil' },
    flags: { type: 'string', default: 'default,vigil' },
    core: { type: 'string', default: '1' },
    'endpoint-core': { type: 'string', default: '0' },
  },
});
const INTERVAL_MS = 10_000;
const MARK = '--- measure ---';

/** Long-lived small objects, about `mb` MiB of heap (an object with a string and an array ≈ 100 B). */
function ballast(mb: number): unknown[] {
  return Array.from({ length: Math.round((mb * 2 ** 20) / 100) }, (_, i) => ({ i, s: `x${i}`, a: [i] }));
}

async function child(): Promise<void> {
  const ports = (values.ports ?? '').split(',').map(Number);
  const kept = ballast(Number(values['ballast-mb']));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8, maxFreeSockets: 8, scheduling: 'lifo' });
  const client = createHttpClient();
  const bare = (url: string): Promise<unknown> =>
    new Promise((resolve, reject) => {
      http
        .get(url, { agent }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString())));
        })
        .on('error', reject);
    });
  const viaVigil = async (url: string): Promise<unknown> => {
    const exchange = await client.request({ url, timeoutMs: 5000 });
    return JSON.parse(exchange.response?.body.toString() ?? 'null');
  };
  const probe = values.client === 'vigil' ? viaVigil : bare;
  let done = 0;
  const timers: NodeJS.Timeout[] = [];
  const checks = Number(values.checks);
  for (let i = 0; i < checks; i++) {
    const url = `http://127.0.0.1:${ports[i % ports.length]}/model-${i}/integrity`;
    const run = (): void => {
      probe(url).then(
        () => done++,
        () => done++,
      );
    };
    const first = setTimeout(
      () => {
        run();
        timers.push(setInterval(run, INTERVAL_MS));
      },
      Math.floor(Math.random() * INTERVAL_MS),
    );
    timers.push(first);
  }
  await new Promise((r) => setTimeout(r, Number(values['warmup-s']) * 1000));
  console.log(MARK);
  const done0 = done;
  const cpu0 = process.cpuUsage();
  await new Promise((r) => setTimeout(r, Number(values['measure-s']) * 1000));
  const cpu = process.cpuUsage(cpu0);
  const probes = done - done0;
  console.log(
    JSON.stringify({ probes, cpuMsPerProbe: (cpu.user + cpu.system) / 1000 / probes, kept: kept.length }),
  );
  for (const t of timers) clearTimeout(t);
  agent.destroy();
  await client.close();
}

interface Row {
  client: string;
  ballastMb: number;
  flags: string;
  probes: number;
  cpuMsPerProbe: number;
  scavenges: number;
  allocatedKbPerProbe: number;
  promotedKbPerProbe: number;
  scavengeMsPerSecond: number;
  markCompacts: number;
}

async function runChild(ports: number[], client: string, ballastMb: number, flags: string[]): Promise<Row> {
  const args = [
    '-c',
    values.core,
    process.execPath,
    '--trace-gc-nvp',
    ...flags,
    fileURLToPath(import.meta.url),
    '--child',
    '--client',
    client,
    '--ports',
    ports.join(','),
    '--checks',
    values.checks,
    '--ballast-mb',
    String(ballastMb),
    '--warmup-s',
    values['warmup-s'],
    '--measure-s',
    values['measure-s'],
  ];
  const proc = spawn('taskset', args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  await new Promise((r) => proc.once('exit', r));
  const lines = out.split('\n');
  const from = lines.indexOf(MARK);
  const result = JSON.parse(lines.find((l, i) => i > from && l.startsWith('{')) ?? '{}') as {
    probes: number;
    cpuMsPerProbe: number;
  };
  let scavenges = 0;
  let allocated = 0;
  let promoted = 0;
  let pauseMs = 0;
  let markCompacts = 0;
  for (const line of lines.slice(from + 1)) {
    const field = (name: string): number => Number(new RegExp(`\\b${name}=([\\d.]+)`).exec(line)?.[1] ?? 0);
    if (/\bgc=s\b/.test(line)) {
      scavenges++;
      allocated += field('allocated');
      promoted += field('promoted');
      pauseMs += field('pause');
    } else if (/\bgc=(mc|mmc|ms)\b/.test(line)) {
      markCompacts++;
    }
  }
  const seconds = Number(values['measure-s']);
  return {
    client,
    ballastMb,
    flags: flags.length === 0 ? 'default' : flags.join(' '),
    probes: result.probes,
    cpuMsPerProbe: result.cpuMsPerProbe,
    scavenges,
    allocatedKbPerProbe: allocated / 1024 / result.probes,
    promotedKbPerProbe: promoted / 1024 / result.probes,
    scavengeMsPerSecond: pauseMs / seconds,
    markCompacts,
  };
}

async function main(): Promise<void> {
  const endpoints = startScaleEndpoints({ ports: 256, core: values['endpoint-core'] });
  const ports = await endpoints.ports;
  const rows: Row[] = [];
  try {
    for (const flagSet of values.flags.split(',')) {
      const flags = flagSet === 'vigil' ? vigilNodeFlags() : [];
      for (const ballastMb of values['ballast-mb'].split(',').map(Number)) {
        for (const client of values.clients.split(',')) {
          const row = await runChild(ports, client, ballastMb, flags);
          console.error(
            `${client} ballast ${ballastMb} MB, ${row.flags}: promoted ${row.promotedKbPerProbe.toFixed(2)} kB/probe, ${row.cpuMsPerProbe.toFixed(4)} ms CPU/probe`,
          );
          rows.push(row);
        }
      }
    }
  } finally {
    endpoints.child.kill();
  }
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(
    `\nPaced prober, ${values.checks} checks at 10 s, ${values['measure-s']} s measured after ${values['warmup-s']} s; ${cpus().length} × ${cpu}, Linux ${release()}, Node ${process.version}.`,
  );
  console.log(`Command: node bench/dist/gc-promotion.js ${process.argv.slice(2).join(' ')}\n`);
  console.log(
    '| client | ballast MB | node flags | probes | allocated kB/probe | promoted kB/probe | scavenges | scavenge pause ms/s | mark-compacts | CPU ms/probe |',
  );
  console.log('| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    console.log(
      `| ${r.client} | ${r.ballastMb} | ${r.flags} | ${r.probes} | ${r.allocatedKbPerProbe.toFixed(1)} | ${r.promotedKbPerProbe.toFixed(2)} | ${r.scavenges} | ${r.scavengeMsPerSecond.toFixed(1)} | ${r.markCompacts} | ${r.cpuMsPerProbe.toFixed(4)} |`,
    );
  }
}

if (values.child) await child();
else await main();
