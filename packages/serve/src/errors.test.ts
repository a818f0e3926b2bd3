import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { VIGIL_SERVE_ERROR_CODES } from './errors.js';

describe('error codes', () => {
  it('are each documented in the README, which documents no others', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const documented = new Set(readme.match(/VIGIL_ERR_SERVE_[A-Z_]+/g));
    expect([...documented].sort()).toEqual([...VIGIL_SERVE_ERROR_CODES].sort());
  });
});
