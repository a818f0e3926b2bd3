import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const require = createRequire(import.meta.url);
const depcruise = `${root}node_modules/dependency-cruiser/bin/dependency-cruise.mjs`;

function cruise(dir: string) {
  const run = spawnSync(process.execPath, [depcruise, dir, '--config', '.dependency-cruiser.cjs'], {
    cwd: root,
    encoding: 'utf8',
  });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('the layer rules', () => {
  it('reject a tree with a back-edge and a cycle', () => {
    const { status, output } = cruise('packages/vigil/test/layers-fixture/src');
    expect(status).not.toBe(0);
    expect(output).toContain('error layer-ground: packages/vigil/test/layers-fixture/src/types.ts → ');
    expect(output).toMatch(/error no-circular: .*layers-fixture/);
  });

  it('accept the source tree as it is', () => {
    const { status, output } = cruise('packages/vigil/src');
    expect(output).toContain('no dependency violations found');
    expect(status).toBe(0);
  });

  it('are the layers ARCHITECTURE.md lists, in its order', () => {
    const rules: { forbidden: { name: string }[] } = require(`${root}.dependency-cruiser.cjs`);
    const fromRules = rules.forbidden.map((rule) => rule.name).filter((name) => name.startsWith('layer-'));
    const table = readFileSync(`${root}ARCHITECTURE.md`, 'utf8').split('## Layers')[1] ?? '';
    const fromDoc = [...table.matchAll(/^\| ([a-z]+) \| `/gm)].map((match) => `layer-${match[1]}`);
    // The top layer (entry) imports from every other and has no rule of its own.
    expect(fromDoc.slice(0, -1)).toEqual(fromRules);
    expect(fromDoc.at(-1)).toBe('layer-entry');
  });
});
