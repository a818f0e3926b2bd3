/**
 * A hub killed (SIGKILL) right after it acknowledged an agent's batch: a real `vigil run` process
 * (SQLite file store), an agent in this process with a file spool, and a TCP relay between them that
 * kills the hub the moment the hub's answer to a result batch passes through it, then hands the answer
 * on. After a restart, every result the agent saw acknowledged is stored, and the agent re-sends none
 * of them (the hub finds no replay); in the end every probe is stored once.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpFake, type HttpFake } from '../protocols/fakes/http.js';
import { openStore } from '../store/index.js';
import type { HttpClient } from '../types.js';
import { createHttpClient } from '../wire/http.js';
import { type Agent, createAgent } from './agent.js';
import { waitFor } from './testing.js';

const ENTRY = fileURLToPath(new URL('../cli/bin.ts', import.meta.url));
const TOKEN = 'eu-token-0123456789abcdef';

/** A free loopback port (listened on, then released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/**
 * A relay to `port`. While `armed`, the first answer of the hub to a `POST /api/v1/agent/results`
 * kills the hub (`onAnswer`) before the relay passes the answer on: the agent gets its
 * acknowledgement from a hub that is already dead.
 */
async function relay(
  port: number,
  onAnswer: () => void,
): Promise<{ url: string; armed: boolean; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const state = { armed: false };
  const server: Server = createServer((socket) => {
    const out = connect(port, '127.0.0.1');
    for (const s of [socket, out]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    let posting = false;
    socket.on('data', (chunk: Buffer) => {
      if (chunk.toString('latin1').startsWith('POST /api/v1/agent/results')) posting = true;
      out.write(chunk);
    });
    out.on('data', (chunk: Buffer) => {
      if (state.armed && posting && chunk.toString('latin1').startsWith('HTTP/1.1 200')) {
        state.armed = false;
        onAnswer();
      }
      posting = false;
      socket.write(chunk);
    });
    socket.on('error', () => out.destroy());
    out.on('error', () => socket.destroy());
    socket.on('end', () => out.end());
    out.on('end', () => socket.end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    get armed() {
      return state.armed;
    },
    set armed(value: boolean) {
      state.armed = value;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** A client counting the probes that went out. */
function countingClient(): HttpClient & { sent: number } {
  const inner = createHttpClient({ keepAlive: false });
  const client = {
    sent: 0,
    request(request: Parameters<HttpClient['request']>[0]) {
      client.sent++;
      return inner.request(request);
    },
    close: () => inner.close(),
  };
  return client;
}

describe('a hub killed right after acknowledging a batch', () => {
  let dir: string;
  let model: HttpFake | undefined;
  let agent: Agent | undefined;
  const children: ChildProcess[] = [];

  afterEach(async () => {
    await agent?.stop().catch(() => {});
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await model?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('has stored every acknowledged result after a restart, and the agent re-sends none of them', async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-agent-crash-'));
    model = await createHttpFake();
    const config = join(dir, 'vigil.yaml');
    writeFileSync(
      config,
      `agents:
  regions:
    eu: { token: "${TOKEN}" }
defaults: { interval: 100ms, timeout: 80ms }
targets:
  - name: scorer
    url: ${model.url}
    protocol: http
    regions: [eu]
    checks: { liveness: {} }
`,
    );
    const storePath = join(dir, 'vigil.db');
    const port = await freePort();
    let output = '';
    const startHub = async (): Promise<ChildProcess> => {
      const child = spawn(
        process.execPath,
        [
          '--conditions=source',
          '--import',
          'tsx',
          ENTRY,
          'run',
          '-c',
          config,
          '--store',
          storePath,
          '--port',
          String(port),
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      child.stdout?.on('data', (c: Buffer) => {
        output += c.toString();
      });
      child.stderr?.on('data', (c: Buffer) => {
        output += c.toString();
      });
      children.push(child);
      await waitFor(
        `the hub on port ${port}`,
        async () => {
          if (child.exitCode !== null) throw new Error(`the hub exited (${child.exitCode})`);
          return (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200;
        },
        120_000,
        100,
      ).catch((err: Error) => {
        throw new Error(`${err.message}; its output: ${output.slice(-2000)}`);
      });
      return child;
    };
    let hub = await startHub();
    const exited = (child: ChildProcess) =>
      new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_code, signal) => r(signal)));
    let killed: Promise<NodeJS.Signals | null> | undefined;
    const gate = await relay(port, () => {
      killed = exited(hub);
      hub.kill('SIGKILL');
    });
    try {
      const client = countingClient();
      // Pushes only when the test says so (flush), so the one the relay watches is the one that counts.
      agent = createAgent({
        hubUrl: gate.url,
        region: 'eu',
        token: TOKEN,
        spoolPath: join(dir, 'spool.db'),
        client,
        pushIntervalMs: 600_000,
        pollIntervalMs: 600_000,
        requestTimeoutMs: 30_000,
      });
      await agent.start();
      await waitFor('probes spooled', () => (agent?.stats().spoolDepth ?? 0) >= 10);

      gate.armed = true;
      // Its first batch is acknowledged (a later one, of probes since, finds the hub gone).
      await agent.flush();
      const acknowledged = agent.stats().pushed;
      expect(acknowledged).toBeGreaterThanOrEqual(10);
      expect(await killed).toBe('SIGKILL');

      // The dead hub's file: every result the agent saw acknowledged is there.
      const store = await openStore(storePath);
      try {
        expect(await store.results('scorer/liveness', { region: 'eu', limit: 100_000 })).toHaveLength(
          acknowledged,
        );
      } finally {
        await store.close();
      }

      hub = await startHub();
      expect(await agent.flush()).toBe(true);
      // Nothing acknowledged before the crash came back as a replay.
      expect(agent.stats().replayed).toBe(0);
      await agent.stop();
      agent = undefined;
      const stopped = exited(hub);
      hub.kill('SIGTERM');
      await stopped;
      const after = await openStore(storePath);
      try {
        // Every probe the agent sent is stored once.
        expect(await after.results('scorer/liveness', { region: 'eu', limit: 100_000 })).toHaveLength(
          client.sent,
        );
      } finally {
        await after.close();
      }
    } finally {
      await gate.close();
    }
  }, 400_000);
});
