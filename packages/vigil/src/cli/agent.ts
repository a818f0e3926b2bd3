/**
 * `vigil agent`: probes the checks of one region and reports to the hub (`agent/agent.ts`).
 *
 *   VIGIL_AGENT_TOKEN=… vigil agent --hub https://vigil.example.com --region eu-west [--shard 1/2]
 *
 * The token comes from `VIGIL_AGENT_TOKEN` or `--token-file`, never from the command line. SIGTERM and
 * SIGINT stop it (what the spool holds is pushed once, then kept for the next start).
 *
 * Exit codes (ERRORS.md): 0 stopped, 1 stopping failed, 2 usage error.
 */
import { type Command, Option } from 'commander';
import { parseShard } from '../config/regions.js';
import { type AgentRunOptions, runAgent } from '../daemon/agent.js';
import { LOG_FORMATS, LOG_LEVELS } from '../daemon/logger.js';
import { parseDuration } from '../diagnostics/duration.js';
import { UsageError } from '../errors.js';
import { urlProblem } from '../schema/url.js';
import { runUntilSignalled } from './signals.js';

/** Adds `agent` to the program. */
export function registerAgent(program: Command): void {
  program
    .command('agent')
    .description(
      "probe one region's checks and report them to the hub (token: VIGIL_AGENT_TOKEN or --token-file)",
    )
    .requiredOption('--hub <url>', "the hub's URL (e.g. https://vigil.example.com)", (v) => {
      const problem = urlProblem(v);
      if (problem !== undefined)
        throw new UsageError('VIGIL_ERR_USAGE', `--hub: ${problem.replace('{{got}}', JSON.stringify(v))}`);
      return v;
    })
    .requiredOption(
      '--region <name>',
      'the region this agent probes from (agents.regions on the hub)',
      (v) => {
        if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(v))
          throw new UsageError('VIGIL_ERR_USAGE', `--region: expected a region name, got "${v}"`);
        return v;
      },
    )
    .option('--shard <i/n>', "run shard i of n of the region's checks (a hash of the check id)", (v) => {
      const shard = parseShard(v);
      if (shard === undefined)
        throw new UsageError('VIGIL_ERR_USAGE', `--shard: expected i/n with 1 ≤ i ≤ n, got "${v}"`);
      return shard;
    })
    .option('--token-file <file>', 'a file holding the token (instead of VIGIL_AGENT_TOKEN)')
    .option(
      '--spool <file>',
      'the durable spool (SQLite) for results the hub has not taken yet',
      '.vigil/agent-spool.db',
    )
    .option(
      '--max-spool <results>',
      'most results the spool holds; beyond, the oldest are dropped and counted',
      (v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1)
          throw new UsageError('VIGIL_ERR_USAGE', `--max-spool must be a whole number ≥ 1, got "${v}"`);
        return n;
      },
      100_000,
    )
    .option(
      '--poll-interval <duration>',
      'how often the plan is asked for (a config change reaches the agent within it)',
      (v) => {
        try {
          return parseDuration(v);
        } catch {
          throw new UsageError(
            'VIGIL_ERR_USAGE',
            `--poll-interval: expected a duration like "10s", got "${v}"`,
          );
        }
      },
      10_000,
    )
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info'))
    .addOption(new Option('--log-format <format>', 'log lines: json or pretty').choices(LOG_FORMATS))
    .action(async (opts: AgentRunOptions) => {
      await runUntilSignalled(() => runAgent(opts));
    });
}
