import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { VERSION } from '../version.js';
import { createProgram } from './main.js';

describe('vigil CLI', () => {
  it('reports its version with --version', async () => {
    let out = '';
    const program = createProgram()
      .exitOverride()
      .configureOutput({ writeOut: (s) => (out += s) });
    await expect(program.parseAsync(['node', 'vigil', '--version'])).rejects.toThrow(VERSION);
    expect(out.trim()).toBe(VERSION);
  });

  it('runs as an executable whose shebang passes its V8 flags to node', () => {
    // Executed directly, so the kernel reads the shebang: a flag node rejects, or an `env` without -S,
    // fails here. bench/hub-scale.ts reads the flags from this line, in this form.
    const bin = fileURLToPath(new URL('../../bin/vigil.js', import.meta.url));
    expect(execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim()).toBe(VERSION);
    const shebang = readFileSync(bin, 'utf8').split('\n')[0] as string;
    expect(shebang).toMatch(/^#!\/usr\/bin\/env -S node( --[a-z-]+(=\d+)?)+$/);
  });
});
