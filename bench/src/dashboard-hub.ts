/**
 * The hub under test of `dashboard-load.ts`, in a process of its own started with the node flags of
 * the `vigil` binary (`vigil-flags.ts`), as `vigil run` serves the dashboard: the browser's driver
 * (playwright's client, its CDP traffic and tracing) no longer shares the hub's event loop and heap.
 *
 * `node dashboard-hub.js '<Options as JSON>'`, with an IPC channel. Builds the checks
 * ({@link buildDashboardPlans}), starts `createHub` over a SQLite store in `dir` and one `createApi`
 * per dashboard build (all over the same hub), then sends `{ type: 'ready', urls }` and answers
 * `{ type: 'progress', history }` with how many checks have fewer than `history` results and the
 * checks by state. `{ type: 'stop' }` stops the APIs, the hub and the store, then exits.
 */
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createApi, createHub, openStore } from 'vigil-ml';
import { buildDashboardPlans } from './dashboard-plans.js';

/** The child's argument. */
export interface DashboardHubOptions {
  checks: number;
  ports: number[];
  /** Where the SQLite store goes. */
  dir: string;
  /** The dashboard builds to serve, one API instance each. */
  dashboardDirs: string[];
}

/** What the child sends. */
export type DashboardHubMessage =
  | { type: 'ready'; urls: string[] }
  | { type: 'progress'; short: number; states: Record<string, number> };

/** What the child is sent. */
export type DashboardDriverMessage = { type: 'progress'; history: number } | { type: 'stop' };

const options = JSON.parse(process.argv[2] ?? '{}') as DashboardHubOptions;
const send = (m: DashboardHubMessage) => process.send?.(m);
const plans = buildDashboardPlans(options.checks, options.ports);
const store = await openStore(join(options.dir, 'hub.db'));
const hub = createHub({ plan: plans, store });
await hub.start();
const apps: Awaited<ReturnType<typeof createApi>>[] = [];
const urls: string[] = [];
for (const dashboardDir of options.dashboardDirs) {
  const app = await createApi({ hub, dashboardDir });
  await app.listen({ host: '127.0.0.1', port: 0 });
  apps.push(app);
  urls.push(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}/`);
}
process.on('message', (m: DashboardDriverMessage) => {
  if (m.type === 'progress') {
    const short = plans.filter((p) => hub.recentDurations(p.id, 'local').length < m.history).length;
    const states: Record<string, number> = {};
    for (const s of hub.status()) states[s.state] = (states[s.state] ?? 0) + 1;
    send({ type: 'progress', short, states });
  } else if (m.type === 'stop') {
    void (async () => {
      for (const app of apps) await app.close();
      await hub.stop();
      await store.close();
      process.exit(0);
    })();
  }
});
// The driver gone (killed, crashed): so is the hub.
process.on('disconnect', () => process.exit(0));
send({ type: 'ready', urls });
