/**
 * The V8 flags the `vigil` binary starts node with: those on the shebang line of
 * packages/vigil/bin/vigil.js (`#!/usr/bin/env -S node --flag …`), so that a benchmark running the
 * hub in its own node process tunes it as the shipped binary does.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Node flags given as one string (`'--a=1 --b'`), as a list; `''` is none. */
export function splitFlags(flags: string): string[] {
  return flags.split(' ').filter((word) => word !== '');
}

export function vigilNodeFlags(): string[] {
  const bin = join(
    dirname(fileURLToPath(import.meta.url)),
    '..',
    '..',
    'packages',
    'vigil',
    'bin',
    'vigil.js',
  );
  const shebang = readFileSync(bin, 'utf8').split('\n')[0] ?? '';
  return shebang.split(/\s+/).filter((word) => word.startsWith('--'));
}
