/**
 * Server-sent events (https://html.spec.whatwg.org/multipage/server-sent-events.html) of the hub's
 * events: one hub subscription shared by every connected client, each event serialised once.
 */
import type { ServerResponse } from 'node:http';
import type { HubEvent, HubView } from '../hub/types.js';

/** Default interval of the `: heartbeat` comment that keeps proxies and load balancers from closing idle streams. */
export const DEFAULT_HEARTBEAT_MS = 15_000;
/** The `retry:` hint sent first: how long a disconnected EventSource waits before reconnecting, in ms. */
export const RETRY_MS = 3_000;
/**
 * A client whose unsent output exceeds this is disconnected rather than buffered without bound (it
 * reconnects, per `retry:`, once it reads again). 1 MiB: about a thousand result events.
 */
export const MAX_BUFFERED_BYTES = 1 << 20;

/** The SSE response headers; `x-accel-buffering: no` keeps nginx from buffering the stream. */
export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
} as const;

interface Client {
  readonly response: ServerResponse;
  /** Also wants `result` events (`?results=1`). */
  readonly results: boolean;
}

/** Options of {@link createEventFanout}. */
export interface EventFanoutOptions {
  /** Interval of the heartbeat comment, in ms. Default {@link DEFAULT_HEARTBEAT_MS}. */
  heartbeatMs?: number;
}

/** The connected SSE clients of one API instance. */
export interface EventFanout {
  /**
   * Starts streaming to `response` (headers, then `retry:`) until it closes. Subscribes to the hub on
   * the first client; unsubscribes when the last one leaves.
   */
  attach(response: ServerResponse, options: { results: boolean }): void;
  /** Ends every stream (on shutdown: an open stream would keep `server.close()` waiting). */
  closeAll(): void;
  /** Connected clients. */
  readonly size: number;
  /**
   * The id of the last event published (0 before the first). Every event published later has a larger
   * id, so a snapshot of the hub's state taken now is current up to this id: `/api/v1/status/overview`
   * says it as `eventId`, and a client applies only the events after it.
   */
  readonly lastId: number;
}

/**
 * One event as an SSE frame. `data:` is the payload (a Transition, FlapEvent, DeferralEvent, ActionRun or ProbeResult) as one
 * line of JSON, which never holds a raw line break.
 */
function frame(id: number, event: HubEvent): string {
  const data =
    event.type === 'transition'
      ? event.transition
      : event.type === 'flap'
        ? event.flap
        : event.type === 'deferral'
          ? event.deferral
          : event.type === 'action'
            ? event.run
            : event.result;
  return `id: ${id}\nevent: ${event.type}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * Creates the fan-out of `hub`'s events to SSE clients. Event ids count the hub's events in this
 * process (1, 2, …), so they increase across reconnects; a client that did not ask for results sees
 * gaps where results were. Past events are not replayed (`Last-Event-ID` is ignored): the client reads
 * `/api/v1/status` for the current state.
 */
export function createEventFanout(hub: HubView, options: EventFanoutOptions = {}): EventFanout {
  const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const clients = new Set<Client>();
  let unsubscribe: (() => void) | null = null;
  let heartbeat: NodeJS.Timeout | null = null;
  let lastId = 0;

  const send = (client: Client, text: string): void => {
    const { response } = client;
    if (response.destroyed || response.writableEnded) return;
    response.write(text);
    if (response.writableLength > MAX_BUFFERED_BYTES) response.destroy();
  };

  const publish = (event: HubEvent): void => {
    const id = ++lastId;
    let text: string | undefined;
    for (const client of clients) {
      if (event.type === 'result' && !client.results) continue;
      text ??= frame(id, event);
      send(client, text);
    }
  };

  const detach = (client: Client): void => {
    if (!clients.delete(client) || clients.size > 0) return;
    unsubscribe?.();
    unsubscribe = null;
    if (heartbeat !== null) clearInterval(heartbeat);
    heartbeat = null;
  };

  return {
    attach(response, { results }) {
      const client: Client = { response, results };
      response.writeHead(200, SSE_HEADERS);
      // No Nagle delay: each event leaves in its own packet as soon as it is written.
      response.socket?.setNoDelay(true);
      response.write(`retry: ${RETRY_MS}\n\n`);
      response.on('close', () => detach(client));
      clients.add(client);
      if (unsubscribe === null) unsubscribe = hub.subscribe(publish);
      if (heartbeat === null) {
        heartbeat = setInterval(() => {
          for (const c of clients) send(c, ': heartbeat\n\n');
        }, heartbeatMs);
        heartbeat.unref();
      }
    },
    closeAll() {
      for (const client of clients) client.response.end();
    },
    get size() {
      return clients.size;
    },
    get lastId() {
      return lastId;
    },
  };
}
