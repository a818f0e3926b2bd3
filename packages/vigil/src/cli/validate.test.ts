import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const ENTRY = fileURLToPath(new URL('./bin.ts', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../config/fixtures/', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI from source, as `vigil <args>`, in `cwd` (default the repository root). */
function vigil(args: string[], env: Record<string, string> = {}, cwd = ROOT): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', ENTRY, ...args],
      { cwd, env: { ...process.env, ...env } },
      (error, stdout, stderr) => resolve({ code: error ? (error.code as number) : 0, stdout, stderr }),
    );
  });
}

describe('vigil validate', () => {
  it('prints a summary and exits 0 for a valid config', async () => {
    const file = join(FIXTURES, 'good', 'oip-v2.yaml');
    const run = await vigil(['validate', '-c', file], { API_KEY: 'k', TOKEN: 't' });
    expect(run).toEqual({ code: 0, stdout: `${file}: valid (1 target, 4 checks)\n`, stderr: '' });
  });

  it('prints every diagnostic on its own line to stderr and exits 2 for an invalid config', async () => {
    const dir = join(FIXTURES, 'bad');
    const expected = readFileSync(join(dir, 'several-problems.expected.txt'), 'utf8');
    // From the fixture's folder: diagnostics name the file as given (`several-problems.yaml:1:28: …`).
    const run = await vigil(['validate', '--config', 'several-problems.yaml'], {}, dir);
    expect(run).toEqual({ code: 2, stdout: '', stderr: expected });
  });

  it.each(['bad-jsonpath', 'bad-regex'])(
    'rejects %s: an invalid JSONPath or a pattern RE2 cannot run, each with its path',
    async (name) => {
      const dir = join(FIXTURES, 'bad');
      const expected = readFileSync(join(dir, `${name}.expected.txt`), 'utf8');
      const run = await vigil(['validate', '-c', `${name}.yaml`], {}, dir);
      expect(run).toEqual({ code: 2, stdout: '', stderr: expected });
    },
  );

  it('reports a bad target, duration, JSONPath, regex and notifier block at once, each with line, column and path', async () => {
    const dir = join(FIXTURES, 'bad');
    const expected = readFileSync(join(dir, 'every-problem-at-once.expected.txt'), 'utf8');
    const run = await vigil(['validate', '-c', 'every-problem-at-once.yaml'], {}, dir);
    expect(run).toEqual({ code: 2, stdout: '', stderr: expected });
  });

  it('exits 2 when the file cannot be read', async () => {
    const run = await vigil(['validate', '-c', 'does-not-exist.yaml']);
    expect(run).toEqual({
      code: 2,
      stdout: '',
      stderr: 'does-not-exist.yaml: cannot read the config file: it does not exist\n',
    });
  });

  it('does not print a secret from the environment', async () => {
    const broken = await vigil(['validate', '-c', join(FIXTURES, 'bad', 'missing-env-var.yaml')], {
      SCORER_TOKEN: 'tok-s3cr3t',
      MODEL_HOST: 'bad host s3cr3t',
    });
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain(
      'targets[0].url: expected an http(s) URL like "http://127.0.0.1:8081", got [REDACTED]',
    );
    expect(broken.stderr).not.toContain('s3cr3t');
  });
});
