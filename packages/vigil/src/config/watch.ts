/**
 * Watching a config file for changes that reloading should pick up, however they are made.
 *
 * Editors write a new file and rename it over the old one; Kubernetes mounts a ConfigMap as
 * `vigil.yaml → ..data/vigil.yaml` with `..data → ..2026_12_02_01_02_03.123` and swaps `..data`
 * atomically on every update (the kubelet's AtomicWriter). A watch on the file itself follows the
 * inode it first saw, so it fires for the first swap and then never again. Watching the folder sees
 * every rename and symlink swap; comparing a hash of the content (read through the symlinks) then
 * tells a real change from the noise of the swap's intermediate steps and of unrelated files.
 */
import { createHash } from 'node:crypto';
import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/** Options of {@link watchConfigFile}. */
export interface WatchConfigOptions {
  /** Quiet time after the last event before the file is read, in ms. Default 200. */
  debounceMs?: number;
  /** Called when the hash cannot be computed (file missing mid-swap is retried on the next event). */
  onError?: (error: Error) => void;
}

/** A running watch; `close()` stops it. */
export interface ConfigWatcher {
  close(): void;
}

/** SHA-256 of a file's content (through symlinks), or undefined when it cannot be read right now. */
async function hashOf(file: string): Promise<string | undefined> {
  try {
    return createHash('sha256')
      .update(await readFile(file))
      .digest('hex');
  } catch {
    return undefined;
  }
}

/**
 * Calls `onChange` once per change of `file`'s content, however it was made (in-place write, rename
 * over it, a ConfigMap's `..data` swap), `debounceMs` after the burst of events that made it. The
 * content seen at start is the baseline: a change is a hash different from the last one reported.
 *
 * @example
 * ```ts
 * const watcher = await watchConfigFile('vigil.yaml', () => reload('file changed'));
 * // on shutdown
 * watcher.close();
 * ```
 */
export async function watchConfigFile(
  file: string,
  onChange: () => void,
  options: WatchConfigOptions = {},
): Promise<ConfigWatcher> {
  const path = resolve(file);
  const debounceMs = options.debounceMs ?? 200;
  let last = await hashOf(path);
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let checking: Promise<void> = Promise.resolve();

  const check = () => {
    checking = checking.then(async () => {
      const hash = await hashOf(path);
      if (closed || hash === undefined || hash === last) return;
      last = hash;
      onChange();
    });
  };
  const onEvent = () => {
    clearTimeout(timer);
    timer = setTimeout(check, debounceMs);
  };

  // The folder: renames over the file and symlink swaps (`..data`) happen there.
  const watchers: FSWatcher[] = [watch(dirname(path), { persistent: false }, onEvent)];
  // The file too, where the platform reports in-place writes only on the file's own watch.
  try {
    watchers.push(watch(path, { persistent: false }, onEvent));
  } catch {
    // Missing or unwatchable file: the folder's watch still sees it appear.
  }
  for (const watcher of watchers) watcher.on('error', (error) => options.onError?.(error));

  return {
    close() {
      closed = true;
      clearTimeout(timer);
      for (const watcher of watchers) watcher.close();
    },
  };
}
