/**
 * The daemons' logger (`vigil run`, `vigil route`): pino, as JSON lines for machines or as
 * pino-pretty's one line per record for people.
 */
import { type DestinationStream, type Logger, pino } from 'pino';
import { PinoPretty } from 'pino-pretty';
import { UsageError } from '../errors.js';

import { LOG_LEVELS } from './log-levels.js';

/** Log levels of `--log-level` (daemon/log-levels.ts): pino's, most severe first. */
export { LOG_LEVELS };

/**
 * Log line formats of `--log-format`:
 * - `json`: pino's JSON lines, one object per line (`level` as a number, `time` in epoch ms), for
 *   log shippers (Loki, Fluent Bit, Elasticsearch).
 * - `pretty`: pino-pretty's `[HH:MM:ss.mmm] LEVEL: message {fields}` (local time, one line per
 *   record) for a person at a terminal.
 *
 * Without the flag the format follows the output, as kubectl, Docker and most CLIs do: `pretty` when
 * stdout is a terminal, `json` otherwise (a pipe, a file, a container's log).
 */
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** One of {@link LOG_LEVELS}. */
  level: string;
  /** One of {@link LOG_FORMATS}; undefined: chosen by whether `destination` is a terminal. */
  format?: string | undefined;
  /** Where lines go. Default: stdout (`fd 1`). */
  destination?: NodeJS.WritableStream & { isTTY?: boolean };
}

/**
 * The format a logger writes: `format` when given, else `pretty` on a terminal and `json` otherwise.
 *
 * @throws UsageError `VIGIL_ERR_USAGE` when `format` is not one of {@link LOG_FORMATS}.
 */
export function resolveLogFormat(format: string | undefined, isTTY: boolean | undefined): LogFormat {
  if (format === undefined) return isTTY ? 'pretty' : 'json';
  if (!(LOG_FORMATS as readonly string[]).includes(format))
    throw new UsageError(
      'VIGIL_ERR_USAGE',
      `log format must be one of ${LOG_FORMATS.join(', ')}, got "${format}"`,
    );
  return format as LogFormat;
}

/**
 * A pino logger at `level` in the format `resolveLogFormat` picks.
 *
 * The pretty format runs pino-pretty as a stream in this thread (not as a worker-thread transport):
 * a line logged just before the process exits (a fatal start-up error, "stopped") is written, not
 * lost with the worker. Colours only when the destination is a terminal.
 *
 * @throws UsageError `VIGIL_ERR_USAGE` for a level not in {@link LOG_LEVELS} or a format not in
 *   {@link LOG_FORMATS}.
 *
 * @example
 * import { createLogger } from 'vigil-ml';
 * const logger = createLogger({ level: 'info', format: 'pretty' });
 * logger.info({ checks: 3 }, 'vigil hub running');
 */
export function createLogger(options: LoggerOptions): Logger {
  if (!(LOG_LEVELS as readonly string[]).includes(options.level))
    throw new UsageError(
      'VIGIL_ERR_USAGE',
      `log level must be one of ${LOG_LEVELS.join(', ')}, got "${options.level}"`,
    );
  const destination = options.destination ?? process.stdout;
  const format = resolveLogFormat(options.format, destination.isTTY);
  const base = { level: options.level, base: undefined };
  if (format === 'json')
    return options.destination ? pino(base, options.destination as DestinationStream) : pino(base);
  return pino(
    base,
    PinoPretty({
      destination: destination as DestinationStream,
      colorize: destination.isTTY === true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname',
      // One record, one line (fields after the message), so that `grep` and a scrolling terminal
      // keep a record together.
      singleLine: true,
      sync: true,
    }),
  );
}
