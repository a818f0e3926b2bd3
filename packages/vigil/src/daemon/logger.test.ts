import { PassThrough } from 'node:stream';
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../errors.js';
import { createLogger, resolveLogFormat } from './logger.js';

/** A destination that keeps what is written, and says whether it is a terminal. */
function sink(isTTY: boolean) {
  const stream = Object.assign(new PassThrough(), { isTTY });
  const chunks: string[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c.toString()));
  return { stream, text: () => chunks.join('') };
}

/** Waits until the sink holds `n` lines (pino-pretty writes through a stream: give it its turn). */
async function lines(text: () => string, n: number): Promise<string[]> {
  for (let i = 0; i < 100; i++) {
    const got = text().split('\n').filter(Boolean);
    if (got.length >= n) return got;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`expected ${n} lines, got: ${text()}`);
}

describe('the log format', () => {
  it.each([
    [undefined, true, 'pretty'],
    [undefined, false, 'json'],
    [undefined, undefined, 'json'],
    ['json', true, 'json'],
    ['pretty', false, 'pretty'],
  ] as const)('format %s with a terminal %s is %s', (format, isTTY, expected) => {
    expect(resolveLogFormat(format, isTTY)).toBe(expected);
  });

  it('refuses an unknown format or level, naming the choices', () => {
    expect(() => resolveLogFormat('logfmt', true)).toThrow(
      new UsageError('VIGIL_ERR_USAGE', 'log format must be one of json, pretty, got "logfmt"'),
    );
    expect(() => createLogger({ level: 'verbose' })).toThrow(/log level must be one of fatal, error/);
  });
});

describe('createLogger', () => {
  it('writes pino JSON lines when the destination is not a terminal', async () => {
    const out = sink(false);
    const logger = createLogger({ level: 'info', destination: out.stream });
    logger.warn({ checks: 2 }, 'config reloaded');
    const [line] = await lines(out.text, 1);
    expect(JSON.parse(line ?? '')).toMatchObject({ level: 40, msg: 'config reloaded', checks: 2 });
  });

  it('writes time, the level as a word and the message on a terminal, no JSON', async () => {
    const out = sink(true);
    const logger = createLogger({ level: 'info', destination: out.stream });
    logger.info({ checks: 2 }, 'vigil hub running');
    logger.error('prune failed: disk full');
    logger.debug('not at this level');
    const got = await lines(out.text, 2);
    // Colours on a terminal: compare without the escape sequences.
    const plain = got.map(stripVTControlCharacters);
    expect(plain[0]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: vigil hub running \{"checks":2\}$/);
    expect(plain[1]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] ERROR: prune failed: disk full$/);
    expect(out.text()).not.toContain('{"level"');
    expect(out.text()).not.toContain('not at this level');
  });

  it('writes pretty lines without colour to a file or pipe when asked', async () => {
    const out = sink(false);
    createLogger({ level: 'info', format: 'pretty', destination: out.stream }).info('hello');
    const [line] = await lines(out.text, 1);
    expect(line).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: hello$/);
  });
});
