/**
 * The `haproxy` action: shifts traffic in an HAProxy a team already runs, through its Runtime API (the
 * stats socket: a Unix socket, `socket:`, or TCP, `address: host:port`; the socket must be `level admin`,
 * HAProxy's management guide §9.3). One command per connection (the API's non-interactive mode):
 *
 * | operation | command |
 * | --- | --- |
 * | `drain` | `set server <backend>/<server> state drain` (no new connections; sessions finish) |
 * | `ready` | `set server <backend>/<server> state ready` |
 * | `maint` | `set server <backend>/<server> state maint` |
 * | `weight` | `set server <backend>/<server> weight <weight>` |
 *
 * HAProxy answers nothing (an empty line) on success and a message otherwise (`No such server.`), which
 * is reported as `refused`; a socket that cannot be reached is `failed`. Typical use: `drain` in
 * `onUnhealthy` (Vigil's states decide, including latency and wrong answers, which HAProxy's own checks
 * do not see) and `ready` in `onRecovered`.
 */
import { createConnection } from 'node:net';
import { z } from 'zod';
import { parseDuration } from '../diagnostics/duration.js';
import { GOT } from '../diagnostics/messages.js';
import type { ActionStepConfig } from '../types.js';
import { actionName, capOutput, duration, stepShape } from './step.js';
import type { Action, ActionOutcome, ActionPlugin } from './types.js';

const OPERATIONS = ['drain', 'ready', 'maint', 'weight'] as const;

export const haproxyConfigSchema = z
  .strictObject({
    ...stepShape('haproxy'),
    socket: z
      .string()
      .min(1)
      .optional()
      .describe('Path of the Runtime API Unix socket (stats socket … level admin).'),
    address: z
      .string()
      .regex(/^[^\s:]+:\d{1,5}$|^\[[0-9A-Fa-f:.]+\]:\d{1,5}$/, { error: `expected host:port, got ${GOT}` })
      .optional()
      .describe('host:port of the Runtime API over TCP (instead of socket).'),
    backend: actionName('The backend, e.g. "models".'),
    server: actionName('The server in the backend, e.g. "scorer-1".'),
    operation: z.enum(OPERATIONS).describe('drain, ready, maint or weight.'),
    weight: z.int().min(0).max(256).optional().describe('weight: the new weight, 0–256.'),
    timeout: duration('5s', 'Give up after this long. Default 5s.').default('5s'),
  })
  .superRefine((c, ctx) => {
    if ((c.socket === undefined) === (c.address === undefined))
      ctx.addIssue({
        code: 'custom',
        path: ['socket'],
        message: 'needs socket (a Unix socket path) or address (host:port), one of them',
      });
    if (c.operation === 'weight' && c.weight === undefined)
      ctx.addIssue({ code: 'custom', path: ['weight'], message: 'required for operation "weight"' });
    if (c.operation !== 'weight' && c.weight !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['weight'],
        message: `is for operation "weight" only, not ${c.operation}`,
      });
  })
  .meta({
    id: 'HaproxyAction',
    description: 'Drain, ready, maint or weight a server through HAProxy’s Runtime API.',
  });

export type HaproxyActionConfig = z.output<typeof haproxyConfigSchema> & ActionStepConfig;

/** The Runtime API command of a config. */
export function haproxyCommand(
  config: Pick<HaproxyActionConfig, 'backend' | 'server' | 'operation' | 'weight'>,
): string {
  const where = `${config.backend}/${config.server}`;
  return config.operation === 'weight'
    ? `set server ${where} weight ${config.weight}`
    : `set server ${where} state ${config.operation}`;
}

/**
 * Sends one command to a Runtime API and resolves with its whole answer (HAProxy closes the connection
 * after answering, in non-interactive mode).
 */
export function runtimeApi(
  endpoint: { socket?: string; address?: string },
  command: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<string> {
  return new Promise((resolve, reject) => {
    let target: { path: string } | { host: string; port: number };
    if (endpoint.socket !== undefined) target = { path: endpoint.socket };
    else {
      const text = endpoint.address as string;
      const colon = text.lastIndexOf(':');
      target = { host: text.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(text.slice(colon + 1)) };
    }
    const socket = createConnection(target);
    let answer = '';
    const timer = setTimeout(() => socket.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    const onAbort = () => socket.destroy(new Error('stopped'));
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.end(`${command}\n`));
    socket.on('data', (chunk: string) => {
      answer += chunk;
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      reject(error);
    });
    socket.on('close', (hadError) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (!hadError) resolve(answer);
    });
  });
}

/** Creates an haproxy action. */
export function createHaproxyAction(config: HaproxyActionConfig): Action {
  const command = haproxyCommand(config);
  const timeoutMs = parseDuration(config.timeout);
  const where = config.socket ?? config.address;
  return {
    kind: 'haproxy',
    name: config.name,
    describe: () => `HAProxy ${where}: ${command}`,
    async run(context): Promise<ActionOutcome> {
      let answer: string;
      try {
        answer = await runtimeApi(config, command, timeoutMs, context.signal);
      } catch (error) {
        return { result: 'failed', output: `HAProxy Runtime API at ${where}: ${(error as Error).message}` };
      }
      const text = answer.trim();
      if (text === '') return { result: 'succeeded', output: command };
      return { result: 'refused', output: capOutput(`${command}: ${text}`) };
    },
  };
}

/** The `haproxy` action plugin (registered in `index.ts`). */
export const haproxyPlugin = {
  configSchema: haproxyConfigSchema,
  create: createHaproxyAction,
} satisfies ActionPlugin<typeof haproxyConfigSchema>;
