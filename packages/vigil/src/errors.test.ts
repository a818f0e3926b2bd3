import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, EXIT_CODE_OF_ERROR, EXIT_CODES, exitCodeOf, UsageError, VigilError } from './errors.js';
import { PROTOCOL_NAMES, PROTOCOLS } from './protocols/index.js';

const SRC = fileURLToPath(new URL('.', import.meta.url));
const DOC = readFileSync(fileURLToPath(new URL('../ERRORS.md', import.meta.url)), 'utf8');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'fixtures' ? [] : sources(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [path] : [];
  });
}

const documented = (pattern: RegExp) => new Set([...DOC.matchAll(pattern)].map((m) => m[1] as string));

describe('ERRORS.md', () => {
  it('documents exactly the VIGIL_ERR_* codes the source uses', () => {
    const used = new Set(
      sources(SRC).flatMap(
        (f) => readFileSync(f, 'utf8').match(/VIGIL_ERR_[A-Z0-9_]*[A-Z0-9](?![A-Z0-9_]*(\$\{|\*|<))/g) ?? [],
      ),
    );
    expect([...documented(/^\| `(VIGIL_ERR_[A-Z0-9_]+)`/gm)].sort()).toEqual([...used].sort());
  });

  it('documents exactly the ProbeErrorCode values of types.ts and the codes protocol plugins add', () => {
    const types = readFileSync(join(SRC, 'types.ts'), 'utf8');
    const start = types.indexOf('export type ProbeErrorCode');
    // The union ends at the first blank line (its comments may contain semicolons).
    const block = types.slice(start, types.indexOf('\n\n', start));
    const codes = [...block.matchAll(/'([A-Z_]+)'/g)].map((m) => m[1] as string);
    expect(codes.length).toBeGreaterThan(5);
    const added = PROTOCOL_NAMES.flatMap((name) => Object.keys(PROTOCOLS[name].errorCodes));
    expect(added.filter((code) => codes.includes(code))).toEqual([]);
    expect(
      [...documented(/^\| `([A-Z][A-Z_]+)` \|/gm)].filter((c) => !c.startsWith('VIGIL_')).sort(),
    ).toEqual([...codes, ...new Set(added)].sort());
  });

  it('documents exactly the exit codes of EXIT_CODES, and each error code under the exit it causes', () => {
    const section = DOC.slice(
      DOC.indexOf('## Exit codes'),
      DOC.indexOf('\n## ', DOC.indexOf('## Exit codes') + 1),
    );
    const rows = [...section.matchAll(/^\| `(\d+)` \| [^|]+ \| ([^|]+) \|$/gm)];
    expect(rows.map((r) => Number(r[1]))).toEqual(Object.values(EXIT_CODES));
    const byCode = Object.fromEntries(
      rows.flatMap((r) =>
        [...(r[2] as string).matchAll(/`(VIGIL_ERR_[A-Z_]+)`/g)].map((m) => [m[1], Number(r[1])]),
      ),
    );
    expect(byCode).toEqual(EXIT_CODE_OF_ERROR);
  });
});

describe('exitCodeOf', () => {
  it.each([
    ['a usage error', new UsageError('VIGIL_ERR_USAGE', 'x'), 2],
    ['an invalid config thrown as a usage error', new UsageError('VIGIL_ERR_CONFIG_INVALID', 'x'), 2],
    ['a ConfigError with an unlisted code', new ConfigError('VIGIL_ERR_CONFIG_DURATION', 'x'), 2],
    ['a store that cannot open', new VigilError('VIGIL_ERR_STORE_OPEN', 'x'), 3],
    ['a damaged store', new VigilError('VIGIL_ERR_STORE_CORRUPT', 'x'), 3],
    ['a --store URL that does not parse', new VigilError('VIGIL_ERR_STORE_INVALID_ARGUMENT', 'x'), 2],
    ['a port in use', new VigilError('VIGIL_ERR_API_LISTEN', 'x'), 4],
    ['a VigilError no command should end with', new VigilError('VIGIL_ERR_SCHEDULER_OPTIONS', 'x'), 70],
    ['a plain Error (a bug)', new TypeError('x is undefined'), 70],
    ['a thrown non-error', 'boom', 70],
  ])('gives %s exit code %i', (_what, error, code) => {
    expect(exitCodeOf(error)).toBe(code);
  });
});
