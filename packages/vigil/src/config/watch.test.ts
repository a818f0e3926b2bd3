import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type ConfigWatcher, watchConfigFile } from './watch.js';

const watchers: ConfigWatcher[] = [];
afterEach(() => {
  for (const watcher of watchers.splice(0)) watcher.close();
});

/** Starts a watch and returns a function that waits for the next change (or fails after 5 s). */
async function watched(file: string, debounceMs = 50) {
  const changes: number[] = [];
  let wake: (() => void) | undefined;
  watchers.push(
    await watchConfigFile(
      file,
      () => {
        changes.push(Date.now());
        wake?.();
      },
      { debounceMs },
    ),
  );
  const next = (count: number) =>
    new Promise<void>((resolve, reject) => {
      const timeout = setTimeout(() => reject(new Error(`no change #${count} within 5 s`)), 5000);
      const poll = () => {
        if (changes.length >= count) {
          clearTimeout(timeout);
          resolve();
        } else wake = poll;
      };
      poll();
    });
  return { changes, next };
}

/** The kubelet's AtomicWriter: a new timestamped folder, `..data_tmp` → it, renamed over `..data`. */
function configMapUpdate(dir: string, generation: number, content: string) {
  const stamped = `..2026_12_02_00_00_0${generation}.000000000`;
  mkdirSync(join(dir, stamped));
  writeFileSync(join(dir, stamped, 'vigil.yaml'), content);
  symlinkSync(stamped, join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  if (generation > 0)
    rmSync(join(dir, `..2026_12_02_00_00_0${generation - 1}.000000000`), { recursive: true });
}

describe('watchConfigFile', () => {
  it("reports each of three consecutive ConfigMap swaps of '..data' (the file's own watch misses all but the first)", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-cm-'));
    configMapUpdate(dir, 0, 'generation: 0\n');
    symlinkSync('..data/vigil.yaml', join(dir, 'vigil.yaml'));
    const { changes, next } = await watched(join(dir, 'vigil.yaml'));
    for (const generation of [1, 2, 3]) {
      configMapUpdate(dir, generation, `generation: ${generation}\n`);
      await next(generation);
    }
    expect(changes).toHaveLength(3);
  });

  it('reports an in-place write and a rename over the file, once each', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-watch-'));
    const file = join(dir, 'vigil.yaml');
    writeFileSync(file, 'a: 1\n');
    const { changes, next } = await watched(file);
    writeFileSync(file, 'a: 2\n');
    await next(1);
    writeFileSync(join(dir, '.vigil.yaml.swp'), 'a: 3\n');
    renameSync(join(dir, '.vigil.yaml.swp'), file);
    await next(2);
    expect(changes).toHaveLength(2);
  });

  it('stays quiet for unrelated files and for a swap that keeps the same content', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-watch-'));
    const file = join(dir, 'vigil.yaml');
    writeFileSync(file, 'a: 1\n');
    // No debounce: each event is judged on its own, so noise reported as a change would count.
    const { changes, next } = await watched(file, 0);
    writeFileSync(join(dir, 'other.yaml'), 'b: 1\n');
    writeFileSync(file, 'a: 1\n');
    // A marker change after the noise: once it is reported, the noise before it was judged too.
    writeFileSync(file, 'a: 2\n');
    await next(1);
    expect(changes).toHaveLength(1);
  });
});
