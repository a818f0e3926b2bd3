/**
 * Driving a `scale-hub.js` child (the hub under test) from a benchmark: spawn it pinned to a core,
 * wait for its messages (scale-protocol.ts), and read its CPU time and memory from /proc. Shared by
 * hub-scale (one hub per check count) and hub-ab (two builds' hubs side by side).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { DriverMessage, HubMessage } from './scale-protocol.js';

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString());

/** utime + stime of a process (all its threads), seconds. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** Non-idle time of one core (user, nice, system, irq, softirq, steal), seconds. */
export function coreBusySeconds(core: string): number {
  const line = readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`cpu${core} `));
  const v = (line ?? '').trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = v;
  return (user + nice + system + irq + softirq + steal) / CLK_TCK;
}

/** A `Vm…:` line of /proc/<pid>/status, in MiB. */
export function vmMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`${field}:\\s+(\\d+) kB`));
  return Number(m?.[1] ?? 0) / 1024;
}

/** `taskset -c <core> node …nodeFlags <script> …args`; `ipc` adds the child-process IPC channel. */
export function spawnPinned(
  core: string,
  script: string,
  args: readonly string[],
  ipc: boolean,
  nodeFlags: readonly string[] = [],
): ChildProcess {
  return spawn('taskset', ['-c', core, process.execPath, ...nodeFlags, script, ...args], {
    stdio: ipc ? ['ignore', 'inherit', 'inherit', 'ipc'] : ['ignore', 'pipe', 'inherit'],
  });
}

/** A running `scale-hub.js`. */
export interface HubChild {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves with the child's exit code. */
  readonly exited: Promise<number | null>;
  send(message: DriverMessage): void;
  /** The next message of `type`; rejects if the hub exits first. */
  next<T extends HubMessage['type']>(type: T): Promise<Extract<HubMessage, { type: T }>>;
}

/**
 * Starts the hub script at `script` (an absolute path to a built `scale-hub.js`, of this checkout or
 * another) pinned to `core`, with `args` and `nodeFlags`.
 */
export function startScaleHub(options: {
  script: string;
  core: string;
  args: readonly string[];
  nodeFlags?: readonly string[];
}): HubChild {
  const child = spawnPinned(options.core, options.script, options.args, true, options.nodeFlags);
  const waiters = new Map<string, (m: HubMessage) => void>();
  child.on('message', (m: HubMessage) => {
    waiters.get(m.type)?.(m);
    waiters.delete(m.type);
  });
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  return {
    child,
    pid: child.pid as number,
    exited,
    send: (m) => child.send(m),
    next: <T extends HubMessage['type']>(type: T) =>
      Promise.race([
        new Promise<Extract<HubMessage, { type: T }>>((resolve) =>
          waiters.set(type, resolve as (m: HubMessage) => void),
        ),
        exited.then((code): never => {
          throw new Error(`hub exited with ${code} while waiting for "${type}"`);
        }),
      ]),
  };
}
