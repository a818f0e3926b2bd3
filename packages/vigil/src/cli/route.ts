/**
 * `vigil route`: the failover routers of the config's `routers:` section, one reverse proxy each in
 * front of a model's instances (see `router/`).
 *
 *   vigil route -c vigil.yaml [--admin-port 7980] [--admin-host 127.0.0.1] [--hub http://127.0.0.1:7979]
 *                             [--region eu-west]
 *
 * `--hub` follows the hub's states over its event stream (unhealthy drains, degraded demotes); without
 * it the routers act on their own traffic only. With `VIGIL_HUB_TOKEN` (the hub's API token) too, the
 * routers' traffic reaches the hub as results of its `<target>/traffic:<router>` checks. The admin API serves `/metrics` and drain / restore of
 * an upstream with the bearer token in `VIGIL_ROUTER_TOKEN`. `--region` runs only the routers placed in that
 * region (`routers[].region`); each router follows its region's states and reports its traffic from there. The config reloads when the file changes
 * and on SIGHUP, without dropping a connection; SIGTERM and SIGINT stop cleanly.
 *
 * Exit codes (ERRORS.md): 0 stopped, 1 stopping failed, 2 usage or config error, 4 an address
 * cannot be bound.
 */
import { type Command, Option } from 'commander';
import { LOG_FORMATS, LOG_LEVELS } from '../daemon/logger.js';
import { type RouteOptions, runRouters } from '../daemon/route.js';
import { UsageError } from '../errors.js';
import { DEFAULT_ADMIN_PORT } from '../router/admin.js';
import { urlProblem } from '../schema/url.js';
import { runUntilSignalled } from './signals.js';

/** Adds `route` to the program. */
export function registerRoute(program: Command): void {
  program
    .command('route')
    .description("run the config's failover routers: drain, eject, fail over on latency, hedge, fall back")
    .option('-c, --config <file>', 'config file', 'vigil.yaml')
    .option(
      '--admin-port <port>',
      'admin API port (/metrics, drain, restore)',
      (v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0 || n > 65535)
          throw new UsageError('VIGIL_ERR_USAGE', `--admin-port must be 0..65535, got "${v}"`);
        return n;
      },
      DEFAULT_ADMIN_PORT,
    )
    .option('--admin-host <host>', 'admin API address', '127.0.0.1')
    .option('--hub <url>', "the hub's URL, to follow its states (e.g. http://127.0.0.1:7979)", (v) => {
      const problem = urlProblem(v);
      if (problem !== undefined)
        throw new UsageError('VIGIL_ERR_USAGE', `--hub: ${problem.replace('{{got}}', JSON.stringify(v))}`);
      return v;
    })
    .option(
      '--region <name>',
      "run only the routers placed in this region (routers[].region; without it, the hub's region); default all",
    )
    .addOption(
      new Option('--token <token>', 'admin bearer token (drain, restore)')
        .env('VIGIL_ROUTER_TOKEN')
        .hideHelp(),
    )
    .addOption(
      new Option('--hub-token <token>', "the hub's API token, to send it the routers' traffic results")
        .env('VIGIL_HUB_TOKEN')
        .hideHelp(),
    )
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info'))
    .addOption(
      new Option(
        '--log-format <format>',
        'log lines: json (pino JSON lines) or pretty (time, level, message); default pretty on a terminal, json otherwise',
      ).choices(LOG_FORMATS),
    )
    .action(async (opts: RouteOptions) => {
      await runUntilSignalled(() => runRouters(opts));
    });
}
