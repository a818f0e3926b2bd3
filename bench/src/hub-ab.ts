/**
 * Benchmark: a paired A/B of the hub's CPU per probe between this checkout and another build of
 * Vigil (the base). This VM's speed drifts by 10–25% from one minute to the next (BENCHMARKS.md), more
 * than most single changes are worth, so runs of hub-scale minutes apart cannot tell them apart. Here
 * both hubs run at the same time, pinned to the same core, against the same endpoints, over the same
 * window: whatever slows the machine slows both, and their ratio is what is reported.
 *
 * Per round: start both hubs (`scale-hub.js` of each build, each with `--checks` checks at a 10 s
 * interval, its own SQLite file, /metrics rendered every `--scrape-s`), warm up, then read both
 * processes' CPU time (utime+stime) over `--measure-s`, divided by the results each delivered. Fresh
 * processes every round, started in alternating order. Prints a table of rounds and the median ratio.
 *
 * The base is another checkout of this repository, built, e.g.:
 *
 *   git worktree add /tmp/vigil-base <commit> && (cd /tmp/vigil-base && npm ci && npm run build)
 *   npm run build && node bench/dist/hub-ab.js [--base /tmp/vigil-base] [--checks 5000] [--rounds 5]
 *     [--warmup-s 20] [--measure-s 30] [--ports 256] [--scrape-s 15] [--hub-core 1] [--endpoint-core 0]
 *     [--head-args '<scale-hub.js args>'] [--base-args '…'] [--head-node-flags='--flag …']
 *
 * Both hubs run with this checkout's `vigil` binary flags (its shebang line), so that only the code
 * differs; `--hub-node-flags` overrides them for both, `--head-node-flags` for the head only.
 * Without `--base`, both are this checkout: with `--head-args '--diag skip-results'` (or other
 * `scale-hub.js` arguments) that prices one part of the pipeline against the whole.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startScaleEndpoints } from './scale-children.js';
import { cpuSeconds, type HubChild, startScaleHub, vmMb } from './scale-hub-child.js';
import { median } from './stats.js';
import { splitFlags, vigilNodeFlags } from './vigil-flags.js';

const { values } = parseArgs({
  options: {
    base: { type: 'string' },
    checks: { type: 'string', default: '5000' },
    rounds: { type: 'string', default: '5' },
    'warmup-s': { type: 'string', default: '20' },
    'measure-s': { type: 'string', default: '30' },
    ports: { type: 'string', default: '256' },
    'scrape-s': { type: 'string', default: '15' },
    'hub-core': { type: 'string', default: '1' },
    'endpoint-core': { type: 'string', default: '0' },
    'hub-node-flags': { type: 'string' },
    'head-args': { type: 'string', default: '' },
    'head-node-flags': { type: 'string' },
    'base-args': { type: 'string', default: '' },
  },
});
const here = dirname(fileURLToPath(import.meta.url));
const BASE_DIR = resolve(values.base ?? join(here, '..', '..'));
const BUILDS = [
  { name: 'head', script: join(here, 'scale-hub.js'), extra: splitFlags(values['head-args']) },
  {
    name: 'base',
    script: join(BASE_DIR, 'bench', 'dist', 'scale-hub.js'),
    extra: splitFlags(values['base-args']),
  },
] as const;
for (const b of BUILDS)
  if (!existsSync(b.script)) throw new Error(`${b.name}: ${b.script} not found (built?)`);

const CHECKS = Number(values.checks);
const ROUNDS = Number(values.rounds);
const WARMUP_S = Number(values['warmup-s']);
const MEASURE_S = Number(values['measure-s']);
const HUB_CORE = values['hub-core'];
const FLAGS = splitFlags(values['hub-node-flags'] ?? vigilNodeFlags().join(' '));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Side {
  cpuMsPerProbe: number;
  probes: number;
  rssMb: number;
  lagP99: number;
  durationP50: number;
  durationP99: number;
  lagMax: number;
  failed: number;
}

execFileSync('taskset', ['-a', '-pc', values['endpoint-core'], String(process.pid)], { stdio: 'ignore' });
const dir = mkdtempSync(join(tmpdir(), 'vigil-hub-ab-'));
const endpoints = startScaleEndpoints({
  ports: Number(values.ports),
  core: values['endpoint-core'],
  keepAliveMs: 65000,
});
const rounds: Array<Record<'head' | 'base', Side>> = [];
try {
  const ports = (await endpoints.ports).join(',');
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? BUILDS : [...BUILDS].reverse();
    const hubs = new Map<string, HubChild>();
    try {
      for (const b of order) {
        const db = join(dir, `${b.name}-${round}.db`);
        const args = ['--checks', String(CHECKS), '--ports', ports, '--db', db];
        args.push('--scrape-ms', String(Number(values['scrape-s']) * 1000), ...b.extra);
        const nodeFlags =
          b.name === 'head' && values['head-node-flags'] !== undefined
            ? splitFlags(values['head-node-flags'])
            : FLAGS;
        const hub = startScaleHub({ script: b.script, core: HUB_CORE, args, nodeFlags });
        hubs.set(b.name, hub);
        await hub.next('ready');
      }
      await sleep(WARMUP_S * 1000);
      const all = [...hubs.values()];
      for (const hub of all) hub.send({ type: 'mark' });
      await Promise.all(all.map((hub) => hub.next('marked')));
      const cpu0 = all.map((hub) => cpuSeconds(hub.pid));
      await sleep(MEASURE_S * 1000);
      const cpu = all.map((hub, i) => cpuSeconds(hub.pid) - (cpu0[i] as number));
      const rss = all.map((hub) => vmMb(hub.pid, 'VmRSS'));
      for (const hub of all) hub.send({ type: 'report' });
      const reports = await Promise.all(all.map((hub) => hub.next('report')));
      const sides = Object.fromEntries(
        [...hubs.keys()].map((name, i) => {
          const r = reports[i] as (typeof reports)[number];
          const failed = Object.values(r.nonPass).reduce((a, b) => a + b, 0);
          if (failed > 0) {
            process.stderr.write(
              `  round ${round + 1}, ${name}: ${failed} probes did not pass ${JSON.stringify(r.nonPass)}, e.g.\n    ${r.nonPassExamples.join('\n    ')}\n`,
            );
          }
          return [
            name,
            {
              cpuMsPerProbe: ((cpu[i] as number) * 1000) / r.probes,
              probes: r.probes,
              rssMb: rss[i] as number,
              lagP99: r.lag.p99,
              durationP50: r.durations.p50,
              durationP99: r.durations.p99,
              lagMax: r.lag.max,
              failed,
            },
          ];
        }),
      ) as Record<'head' | 'base', Side>;
      rounds.push(sides);
      process.stderr.write(
        `  round ${round + 1}: head ${sides.head.cpuMsPerProbe.toFixed(4)} ms, base ${sides.base.cpuMsPerProbe.toFixed(4)} ms, head/base ${(sides.head.cpuMsPerProbe / sides.base.cpuMsPerProbe).toFixed(3)}\n`,
      );
      for (const hub of all) hub.send({ type: 'stop' });
      // A hub that has not exited 30 s after `stop` (seen: a base build still draining timed-out
      // probes) is killed by the `finally` below; its figures are already taken.
      await Promise.race([Promise.all(all.map((hub) => hub.exited)), sleep(30_000)]);
    } finally {
      for (const hub of hubs.values()) if (hub.child.exitCode === null) hub.child.kill();
    }
  }
} finally {
  endpoints.child.kill();
  rmSync(dir, { recursive: true, force: true });
}

const f = (x: number, d = 4) => x.toFixed(d);
const git = (cwd: string) => {
  try {
    return execFileSync('git', ['-C', cwd, 'log', '-1', '--format=%h %s'], { encoding: 'utf8' })
      .trim()
      .slice(0, 72);
  } catch {
    return '(not a git checkout)';
  }
};
console.log(
  `\nHub A/B: ${CHECKS} checks each at a 10 s interval, both hubs on core ${HUB_CORE} at once, ${values.ports} endpoint ports on core ${values['endpoint-core']}; warm-up ${WARMUP_S} s, measured ${MEASURE_S} s, ${ROUNDS} rounds.`,
);
console.log(
  `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${f(totalmem() / 2 ** 30, 0)} GiB, Linux ${release()}, Node ${process.version}; ${new Date().toISOString().slice(0, 10)}.`,
);
console.log(`Command: node bench/dist/hub-ab.js ${process.argv.slice(2).join(' ')}`);
console.log(
  `head: ${git(join(here, '..', '..'))}${values['head-args'] === '' ? '' : ` with ${values['head-args']}`}\n` +
    `base: ${git(BASE_DIR)}${values['base-args'] === '' ? '' : ` with ${values['base-args']}`}\n` +
    `Hub node flags: ${FLAGS.join(' ') || 'none'}${values['head-node-flags'] === undefined ? '' : ` (head: ${values['head-node-flags']})`}.\n`,
);
console.log(
  '| round | head ms/probe | base ms/probe | head/base | head RSS MB | base RSS MB | head lag p99 / max ms | base lag p99 / max ms | head probe duration p50 / p99 ms | base probe duration p50 / p99 ms | head / base probes not passed |',
);
console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const [i, r] of rounds.entries()) {
  console.log(
    `| ${i + 1} | ${f(r.head.cpuMsPerProbe)} | ${f(r.base.cpuMsPerProbe)} | ${f(r.head.cpuMsPerProbe / r.base.cpuMsPerProbe, 3)} | ${f(r.head.rssMb, 0)} | ${f(r.base.rssMb, 0)} | ${f(r.head.lagP99, 1)} / ${f(r.head.lagMax, 0)} | ${f(r.base.lagP99, 1)} / ${f(r.base.lagMax, 0)} | ${f(r.head.durationP50, 1)} / ${f(r.head.durationP99, 1)} | ${f(r.base.durationP50, 1)} / ${f(r.base.durationP99, 1)} | ${r.head.failed} / ${r.base.failed} |`,
  );
}
const ratios = rounds.map((r) => r.head.cpuMsPerProbe / r.base.cpuMsPerProbe);
console.log(
  `\nMedian head/base: ${f(median(ratios), 3)} (range ${f(Math.min(...ratios), 3)}–${f(Math.max(...ratios), 3)}); median CPU per probe: head ${f(median(rounds.map((r) => r.head.cpuMsPerProbe)))} ms, base ${f(median(rounds.map((r) => r.base.cpuMsPerProbe)))} ms.`,
);
