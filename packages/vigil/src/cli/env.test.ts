import { Command, Option } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { UsageError } from '../errors.js';
import { applyEnvironment, envVarOf } from './env.js';
import { createProgram } from './main.js';

const saved = { ...process.env };
afterEach(() => {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
});

/** A program shaped like vigil's: one command with a valued flag, a parsed number, a choice, a switch. */
function program(seen: (opts: Record<string, unknown>) => void): Command {
  const root = new Command('vigil').exitOverride();
  root
    .command('run')
    .exitOverride()
    .option('-p, --port <port>', 'port', (v) => Number(v), 7979)
    .option('--store <location>', 'store', '.vigil/vigil.db')
    .addOption(new Option('--log-level <level>').choices(['info', 'debug']).default('info'))
    .addOption(new Option('--token <token>').env('VIGIL_API_TOKEN'))
    .option('--metrics-detail', 'detail')
    .action((opts) => seen(opts));
  applyEnvironment(root);
  return root;
}

async function parse(args: string[], env: Record<string, string>): Promise<Record<string, unknown>> {
  for (const key of Object.keys(process.env)) if (key.startsWith('VIGIL_')) delete process.env[key];
  Object.assign(process.env, env);
  let opts: Record<string, unknown> = {};
  await program((o) => {
    opts = o;
  }).parseAsync(['node', 'vigil', ...args]);
  return opts;
}

describe('VIGIL_* environment variables', () => {
  it('derives the name from the long flag', () => {
    expect(envVarOf('--log-level')).toBe('VIGIL_LOG_LEVEL');
    expect(envVarOf('--retention-days')).toBe('VIGIL_RETENTION_DAYS');
  });

  it('gives every option of every vigil command a variable, its own where it names one', () => {
    const missing: string[] = [];
    const names = new Map<string, string>();
    const visit = (command: Command, path: string) => {
      for (const option of command.options as Option[]) {
        if (option.long === '--version') continue;
        if (option.envVar === undefined) missing.push(`${path} ${option.long}`);
        else names.set(`${path} ${option.long}`, option.envVar);
      }
      for (const sub of command.commands) visit(sub, `${path} ${sub.name()}`);
    };
    visit(createProgram(), 'vigil');
    expect(missing).toEqual([]);
    expect(names.get('vigil run --log-format')).toBe('VIGIL_LOG_FORMAT');
    expect(names.get('vigil run --retention-days')).toBe('VIGIL_RETENTION_DAYS');
    expect(names.get('vigil run --token')).toBe('VIGIL_API_TOKEN');
    expect(names.get('vigil route --token')).toBe('VIGIL_ROUTER_TOKEN');
    expect(names.get('vigil route --admin-port')).toBe('VIGIL_ADMIN_PORT');
    expect(names.get('vigil check --timeout')).toBe('VIGIL_TIMEOUT');
  });

  it('shows the variable in --help', () => {
    const run = createProgram().commands.find((c) => c.name() === 'run');
    expect(run?.helpInformation().replace(/\s+/g, ' ')).toMatch(
      /--log-level <level> .*env: VIGIL_LOG_LEVEL\)/,
    );
  });

  it('reads a flag from its variable, through the same parser and choices as the flag', async () => {
    const opts = await parse([`run`], { VIGIL_PORT: '9090', VIGIL_LOG_LEVEL: 'debug', VIGIL_STORE: 'pg' });
    expect(opts).toMatchObject({ port: 9090, logLevel: 'debug', store: 'pg' });
    await expect(parse(['run'], { VIGIL_LOG_LEVEL: 'verbose' })).rejects.toThrow(
      "error: option '--log-level <level>' value 'verbose' from env 'VIGIL_LOG_LEVEL' is invalid. Allowed choices are info, debug.",
    );
  });

  it('lets the flag on the command line win over the variable, and the variable over the default', async () => {
    expect(await parse(['run', '--port', '1234'], { VIGIL_PORT: '9090' })).toMatchObject({ port: 1234 });
    expect(await parse(['run'], {})).toMatchObject({ port: 7979 });
  });

  it('keeps an option’s own variable name', async () => {
    expect(await parse(['run'], { VIGIL_API_TOKEN: 's3cret' })).toMatchObject({ token: 's3cret' });
    expect(await parse(['run'], { VIGIL_TOKEN: 'other' })).not.toHaveProperty('token');
  });

  it.each([
    ['true', true],
    ['1', true],
    ['on', true],
    ['false', undefined],
    ['0', undefined],
    ['', undefined],
  ])('reads an on/off flag from %j as %s', async (value, expected) => {
    const opts = await parse(['run'], { VIGIL_METRICS_DETAIL: value });
    expect(opts.metricsDetail).toBe(expected);
  });

  it('refuses any other value of an on/off variable, naming it', async () => {
    await expect(parse(['run'], { VIGIL_METRICS_DETAIL: 'maybe' })).rejects.toThrow(
      new UsageError(
        'VIGIL_ERR_USAGE',
        'VIGIL_METRICS_DETAIL (--metrics-detail) must be one of 1, true, yes, on, 0, false, no, off, got "maybe"',
      ),
    );
  });
});
