import { describe, expect, it } from 'vitest';
import { VERSION } from '../index.js';
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
});
