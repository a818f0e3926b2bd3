/**
 * Starting the benchmarks' child processes: the first JSON line a child prints, and the scale
 * endpoints (`scale-endpoints.ts`), shared by hub-scale, gc-promotion and dashboard-load.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** The first stdout line of a child that prints JSON, parsed; rejects if the child exits first. */
export function firstJsonLine<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    let text = '';
    child.stdout?.on('data', (c: Buffer) => {
      text += c.toString();
      const nl = text.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(text.slice(0, nl)) as T);
    });
    child.once('exit', (code) => reject(new Error(`child exited with ${code} before printing`)));
  });
}

/**
 * Starts `scale-endpoints.js` with `ports` servers, pinned to `core` with `taskset` when given;
 * `ports` resolves to their port numbers once all listen.
 */
export function startScaleEndpoints(options: { ports: number; core?: string; keepAliveMs?: number }): {
  child: ChildProcess;
  ports: Promise<number[]>;
} {
  const node = [process.execPath, join(here, 'scale-endpoints.js'), '--ports', String(options.ports)];
  if (options.keepAliveMs !== undefined) node.push('--keep-alive-ms', String(options.keepAliveMs));
  const [command, ...args] = options.core === undefined ? node : ['taskset', '-c', options.core, ...node];
  const child = spawn(command as string, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return { child, ports: firstJsonLine<{ ports: number[] }>(child).then((m) => m.ports) };
}
