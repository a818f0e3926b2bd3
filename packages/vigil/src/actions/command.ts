/**
 * The `command` action: runs a program. An argv list runs as is (no shell); a single string runs only
 * with `shell: true`, through `/bin/sh -c`. The transition travels in the environment:
 *
 * | variable | value |
 * | --- | --- |
 * | `VIGIL_EVENT` | `unhealthy`, `degraded` or `recovered` |
 * | `VIGIL_TARGET`, `VIGIL_CHECK`, `VIGIL_CHECK_ID` | `credit-scorer`, `liveness`, `credit-scorer/liveness` |
 * | `VIGIL_TARGET_URL` | the target's base URL |
 * | `VIGIL_REGION` | the region of the hub |
 * | `VIGIL_STATE`, `VIGIL_FROM_STATE` | the state entered, and the one left |
 * | `VIGIL_REASON` | the transition's reason |
 * | `VIGIL_INCIDENT_ID` | the incident's id (empty when none) |
 * | `VIGIL_IDEMPOTENCY_KEY` | one per (transition, step) |
 *
 * Exit 0 is `succeeded`, anything else `failed`; at `timeout` the process (and its process group) gets
 * SIGTERM, then SIGKILL 5 s later. Output (stdout and stderr, interleaved) is kept capped
 * ({@link OUTPUT_CAP_BYTES}, the tail). The command may leave a daemon behind (a restart script
 * starting a server): the run ends when the command exits, not when every inherited pipe closes.
 */
import { spawn } from 'node:child_process';
import { z } from 'zod';
import { parseDuration } from '../diagnostics/duration.js';
import { GOT } from '../diagnostics/messages.js';
import type { ConfigPath } from '../diagnostics/paths.js';
import { isSecretHeader, isSecretParam } from '../diagnostics/redact.js';
import type { ActionStepConfig } from '../types.js';
import { capOutput, duration, OUTPUT_CAP_BYTES, stepShape } from './step.js';
import type { Action, ActionContext, ActionOutcome, ActionPlugin } from './types.js';

/** After SIGTERM at the timeout, how long before SIGKILL (Kubernetes' grace is 30 s; a restart script needs less). */
export const KILL_GRACE_MS = 5_000;
/** After the command exits, how long its output may still arrive before the run is recorded. */
const DRAIN_MS = 200;

export const commandConfigSchema = z
  .strictObject({
    ...stepShape('command'),
    command: z
      .union([z.array(z.string().min(1)).min(1), z.string().min(1)], {
        error: `expected an argv list like ["systemctl", "restart", "scorer"], or a string with shell: true, got ${GOT}`,
      })
      .describe(
        'The program and its arguments, e.g. ["systemctl", "restart", "scorer"]; a single string needs shell: true.',
      ),
    shell: z.boolean().default(false).describe('Run `command` (one string) with /bin/sh -c. Default false.'),
    timeout: duration('60s', 'Kill the command after this long. Default 60s.').default('60s'),
    env: z.record(z.string(), z.string()).optional().describe('Extra environment variables.'),
    cwd: z.string().min(1).optional().describe('Working directory. Default the hub’s.'),
  })
  .superRefine((c, ctx) => {
    if (typeof c.command === 'string' && !c.shell) {
      ctx.addIssue({
        code: 'custom',
        path: ['command'],
        message:
          'a shell string runs only with shell: true (it is passed to /bin/sh -c); without a shell, give an argv list like ["systemctl", "restart", "scorer"]',
      });
    }
    if (Array.isArray(c.command) && c.shell) {
      ctx.addIssue({ code: 'custom', path: ['shell'], message: 'shell: true takes command as one string' });
    }
  })
  .meta({ id: 'CommandAction', description: 'Runs a program (argv, no shell unless asked).' });

export type CommandActionConfig = z.output<typeof commandConfigSchema> & ActionStepConfig;

/** The environment a command gets for `context` (on top of the hub's own and `env`). */
export function transitionEnv(
  context: Pick<ActionContext, 'transition' | 'target' | 'idempotencyKey'>,
): Record<string, string> {
  const t = context.transition;
  return {
    VIGIL_EVENT: t.event,
    VIGIL_TARGET: t.target,
    VIGIL_CHECK: t.check,
    VIGIL_CHECK_ID: t.checkId,
    VIGIL_TARGET_URL: context.target.url,
    VIGIL_REGION: t.region,
    VIGIL_STATE: t.to,
    VIGIL_FROM_STATE: t.from,
    VIGIL_REASON: t.reason,
    VIGIL_INCIDENT_ID: t.incidentId ?? '',
    VIGIL_IDEMPOTENCY_KEY: context.idempotencyKey,
  };
}

function argvOf(config: CommandActionConfig): string[] {
  return typeof config.command === 'string' ? ['/bin/sh', '-c', config.command] : [...config.command];
}

/** Creates a command action. @example createCommandAction({ kind: 'command', name: 'restart', command: ['true'], shell: false, timeout: '5s', escalateAfter: '2m', escalateAfterMs: 120_000 }) */
export function createCommandAction(config: CommandActionConfig): Action {
  const timeoutMs = parseDuration(config.timeout);
  const argv = argvOf(config);
  return {
    kind: 'command',
    name: config.name,
    describe: () => `run ${JSON.stringify(argv)}`,
    run(context) {
      return new Promise<ActionOutcome>((resolve) => {
        let output = '';
        const append = (chunk: Buffer) => {
          output += chunk.toString('utf8');
          if (output.length > 4 * OUTPUT_CAP_BYTES) output = output.slice(-2 * OUTPUT_CAP_BYTES);
        };
        const [file, ...args] = argv as [string, ...string[]];
        const child = spawn(file, args, {
          cwd: config.cwd,
          env: { ...process.env, ...config.env, ...transitionEnv(context) },
          stdio: ['ignore', 'pipe', 'pipe'],
          // Its own process group, so that a timeout ends what it started too.
          detached: true,
        });
        child.stdout.on('data', append);
        child.stderr.on('data', append);
        let settled = false;
        let killTimer: NodeJS.Timeout | undefined;
        const finish = (outcome: ActionOutcome) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          clearTimeout(killTimer);
          context.signal.removeEventListener('abort', onAbort);
          child.stdout.destroy();
          child.stderr.destroy();
          resolve({ ...outcome, output: capOutput(outcome.output) });
        };
        const killGroup = (signal: NodeJS.Signals) => {
          try {
            if (child.pid !== undefined) process.kill(-child.pid, signal);
          } catch {
            // Already gone.
          }
        };
        let why: string | undefined;
        const stop = (reason: string) => {
          why = reason;
          killGroup('SIGTERM');
          killTimer = setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS);
        };
        const timer = setTimeout(() => stop(`timed out after ${config.timeout}`), timeoutMs);
        const onAbort = () => stop('stopped (the hub is shutting down)');
        context.signal.addEventListener('abort', onAbort, { once: true });
        child.on('error', (error) =>
          finish({ result: 'failed', output: `cannot run ${file}: ${error.message}` }),
        );
        child.on('exit', (code, signal) => {
          setTimeout(() => {
            const tail = output.trim();
            if (why !== undefined) finish({ result: 'failed', output: `${why}${tail ? `\n${tail}` : ''}` });
            else if (code === 0) finish({ result: 'succeeded', output: `exit 0${tail ? `\n${tail}` : ''}` });
            else
              finish({
                result: 'failed',
                output: `${code === null ? `killed by ${signal}` : `exit ${code}`}${tail ? `\n${tail}` : ''}`,
              });
          }, DRAIN_MS);
        });
      });
    },
  };
}

/** Whether an `env` variable's value is a credential by its name (`API_TOKEN`, `DB_PASSWORD`, `AWS_SECRET_ACCESS_KEY`). */
const isSecretEnvName = (name: string) =>
  isSecretParam(name) || /(?:^|_)(?:secret|token|password)(?:_|$)/i.test(name);

/** Values of a command block a diagnostic never shows: `env` values with a credential's name. */
export function isHiddenCommandValue(path: ConfigPath): boolean {
  const [key, name] = path;
  return key === 'env' && (name === undefined || isSecretEnvName(String(name)));
}

/** `Authorization: Bearer x` / `X-Api-Key: x` in an argument or shell string (curl's `-H`). */
const HEADER_ARG = /([A-Za-z0-9-]+):\s*(?:(?:Bearer|Basic|Token)\s+)?([^\s'"]+)/gi;
/** `--token=x`, `--password=x`, `api_key=x` in an argument or shell string. */
const OPTION_ARG = /(?:^|[\s'"])-{0,2}([A-Za-z0-9_.-]+)=([^\s'"&]+)/g;

/**
 * The literal credentials of a command block: `env` values with a credential's name
 * ({@link isHiddenCommandValue}), and values given in its argv or shell string as a credential
 * header (`-H "Authorization: Bearer x"`) or a credential-named option (`--token=x`, `password=x`).
 */
export function commandSecrets(block: Readonly<Record<string, unknown>>): string[] {
  const secrets: string[] = [];
  const env = block.env;
  if (env !== null && typeof env === 'object' && !Array.isArray(env)) {
    for (const [name, value] of Object.entries(env)) {
      if ((typeof value === 'string' || typeof value === 'number') && isSecretEnvName(name))
        secrets.push(String(value));
    }
  }
  const args = Array.isArray(block.command) ? block.command : [block.command];
  for (const arg of args) {
    if (typeof arg !== 'string') continue;
    for (const [, name = '', value = ''] of arg.matchAll(HEADER_ARG))
      if (isSecretHeader(name)) secrets.push(value);
    for (const [, name = '', value = ''] of arg.matchAll(OPTION_ARG))
      if (isSecretParam(name)) secrets.push(value);
  }
  return secrets.filter((s) => s !== '');
}

/** The `command` action plugin (registered in `index.ts`). */
export const commandPlugin = {
  configSchema: commandConfigSchema,
  create: createCommandAction,
  isHiddenValue: isHiddenCommandValue,
  secretsOf: commandSecrets,
} satisfies ActionPlugin<typeof commandConfigSchema>;
