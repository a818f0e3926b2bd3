/**
 * `vigil agent`'s process: the token (from `VIGIL_AGENT_TOKEN` or a file, never the command line,
 * where `ps` would show it), a logger, and the agent (`agent/agent.ts`) until stopped.
 */
import { readFileSync } from 'node:fs';
import { createAgent } from '../agent/agent.js';
import type { Shard } from '../config/regions.js';
import { UsageError } from '../errors.js';
import { createLogger, type LOG_FORMATS, type LOG_LEVELS } from './logger.js';

/** Options of {@link runAgent} (`vigil agent`'s flags). */
export interface AgentRunOptions {
  hub: string;
  region: string;
  shard?: Shard;
  tokenFile?: string;
  spool: string;
  maxSpool: number;
  pollInterval: number;
  logLevel: (typeof LOG_LEVELS)[number];
  logFormat?: (typeof LOG_FORMATS)[number];
}

/**
 * Starts an agent; resolves once it has its plan and probes.
 *
 * @throws UsageError `VIGIL_ERR_USAGE` without a token (neither `VIGIL_AGENT_TOKEN` nor a readable `--token-file`)
 */
export async function runAgent(
  opts: AgentRunOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ stop: () => Promise<void> }> {
  const token = tokenOf(opts, env);
  const logger = createLogger({
    level: opts.logLevel,
    ...(opts.logFormat !== undefined && { format: opts.logFormat }),
  });
  const agent = createAgent({
    hubUrl: opts.hub,
    region: opts.region,
    token,
    ...(opts.shard !== undefined && { shard: opts.shard }),
    spoolPath: opts.spool,
    maxSpoolResults: opts.maxSpool,
    pollIntervalMs: opts.pollInterval,
    log: (level, message, fields) => logger[level](fields ?? {}, message),
  });
  await agent.start();
  const report = setInterval(() => logger.info({ ...agent.stats() }, 'agent stats'), 60_000);
  report.unref();
  return {
    stop: async () => {
      clearInterval(report);
      await agent.stop();
      logger.info({ ...agent.stats() }, 'agent stopped');
    },
  };
}

function tokenOf(opts: AgentRunOptions, env: NodeJS.ProcessEnv): string {
  if (opts.tokenFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(opts.tokenFile, 'utf8').trim();
    } catch (err) {
      throw new UsageError(
        'VIGIL_ERR_USAGE',
        `--token-file: cannot read ${opts.tokenFile}: ${(err as Error).message}`,
      );
    }
    if (text === '') throw new UsageError('VIGIL_ERR_USAGE', `--token-file: ${opts.tokenFile} is empty`);
    return text;
  }
  const token = env.VIGIL_AGENT_TOKEN;
  if (token === undefined || token === '')
    throw new UsageError(
      'VIGIL_ERR_USAGE',
      "no agent token: set VIGIL_AGENT_TOKEN or pass --token-file (the hub's agents.regions.<region> token)",
    );
  return token;
}
