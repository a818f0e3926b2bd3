import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

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

  it('documents exactly the ProbeErrorCode values of types.ts', () => {
    const types = readFileSync(join(SRC, 'types.ts'), 'utf8');
    const start = types.indexOf('export type ProbeErrorCode');
    // The union ends at the first blank line (its comments may contain semicolons).
    const block = types.slice(start, types.indexOf('\n\n', start));
    const codes = [...block.matchAll(/'([A-Z_]+)'/g)].map((m) => m[1] as string);
    expect(codes.length).toBeGreaterThan(5);
    expect(
      [...documented(/^\| `([A-Z][A-Z_]+)` \|/gm)].filter((c) => !c.startsWith('VIGIL_')).sort(),
    ).toEqual(codes.sort());
  });
});
