/**
 * The notifier contract: one suite, run against every notifier with a real local receiver (an HTTP
 * server, an SMTP server), in the manner of Gatus's store tests and Hono's shared router cases. A new
 * notifier passes this suite, or it is not a notifier.
 *
 * The suite pins what the outbox relies on: an accepted delivery is `ok`; a refused connection, a
 * receiver error, throttling and an aborted attempt are retryable failures (with `retryAfterMs` when the
 * receiver said when); a refused request is not retried; no error ever carries a secret.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DeliveryResult, Notifier } from '../types.js';
import { alert, context, group, resolvedAlert } from './fixtures/alerts.js';
import {
  closedPort,
  type HttpReceiver,
  type ReceivedRequest,
  type ReceiverMode,
  type Reply,
  startHttpReceiver,
} from './fixtures/http-receiver.js';

/** How the suite reaches one notifier and its receiver. */
export interface NotifierContractHarness {
  /** Starts the receiver. */
  start(): Promise<void>;
  /** Stops it. */
  stop(): Promise<void>;
  /** A notifier pointed at the running receiver, configured with {@link secrets}. */
  create(): Notifier;
  /** A notifier pointed at a port of 127.0.0.1 where nothing listens. */
  createUnreachable(): Promise<Notifier>;
  /** Sets how the receiver answers from now on. */
  setMode(mode: ReceiverMode): void;
  /** Every delivery the receiver accepted so far (a request body, a raw mail), oldest first. */
  deliveries(): string[];
  /** The status a delivery carries, read the way its receiver would read it. */
  statusOf(delivery: string): 'firing' | 'resolved';
  /** A delivery's text as its receiver reads it (a mail's transfer encoding undone). Default: as is. */
  textOf?(delivery: string): string;
  /** Texts that no error may contain: keys, passwords, every part of a secret URL path. */
  secrets: string[];
  /** Whether the protocol has `Retry-After` (HTTP does, SMTP does not). */
  hasRetryAfter: boolean;
}

function failed(result: DeliveryResult): Extract<DeliveryResult, { ok: false }> {
  if (result.ok) throw new Error(`expected a failed delivery, got ok (${result.detail ?? ''})`);
  return result;
}

/**
 * Defines the contract cases for one notifier. Call it at the top level of the notifier's test file.
 *
 * @param type the notifier's `type`, shown in the test titles and expected as `notifier.type`
 */
export function notifierContract(type: string, harness: NotifierContractHarness): void {
  describe(`${type} notifier contract`, () => {
    const errors: string[] = [];

    beforeAll(() => harness.start());
    afterAll(() => harness.stop());
    beforeEach(() => harness.setMode('ok'));

    async function sendFailing(mode: ReceiverMode): Promise<Extract<DeliveryResult, { ok: false }>> {
      harness.setMode(mode);
      const result = failed(await harness.create().send(group(), context()));
      errors.push(result.error);
      return result;
    }

    it('names its type and receiver', () => {
      const notifier = harness.create();
      expect(notifier.type).toBe(type);
      expect(notifier.name).toBe('contract');
    });

    it('delivers a firing group', async () => {
      const before = harness.deliveries().length;
      const result = await harness.create().send(group(), context());
      expect(result).toMatchObject({ ok: true });
      const delivered = harness.deliveries().slice(before);
      expect(delivered.length).toBeGreaterThan(0);
      for (const delivery of delivered) expect(harness.statusOf(delivery)).toBe('firing');
    });

    it('delivers a resolved group', async () => {
      const before = harness.deliveries().length;
      const result = await harness.create().send(group([resolvedAlert()]), context());
      expect(result).toMatchObject({ ok: true });
      const delivered = harness.deliveries().slice(before);
      expect(delivered.length).toBeGreaterThan(0);
      for (const delivery of delivered) expect(harness.statusOf(delivery)).toBe('resolved');
    });

    it('delivers a group of several alerts, every one of them', async () => {
      // Each alert carries a text only it has: the receiver must have got both.
      const summaries = ['first of two alerts: integrity failing', 'second of two alerts: liveness failing'];
      const alerts = [
        alert({ annotations: { summary: summaries[0] as string } }),
        alert({
          fingerprint: 'aa00',
          labels: { check: 'liveness' },
          annotations: { summary: summaries[1] as string },
        }),
      ];
      const before = harness.deliveries().length;
      const result = await harness.create().send(group(alerts), context());
      expect(result).toMatchObject({ ok: true });
      const read = harness.textOf ?? ((delivery: string) => delivery);
      const delivered = harness.deliveries().slice(before).map(read).join('\n');
      for (const summary of summaries) expect(delivered).toContain(summary);
    });

    it('reports a refused connection as a retryable failure', async () => {
      const result = failed(await (await harness.createUnreachable()).send(group(), context()));
      errors.push(result.error);
      expect(result.retryable).toBe(true);
      expect(result.error).toMatch(/ECONNREFUSED|refused/i);
    });

    it('reports a receiver error as a retryable failure', async () => {
      const result = await sendFailing('error');
      expect(result.retryable).toBe(true);
      expect(result.error).toMatch(/500|451/);
    });

    it('reports throttling as a retryable failure, with Retry-After when the protocol has it', async () => {
      const result = await sendFailing('rate-limit');
      expect(result.retryable).toBe(true);
      if (harness.hasRetryAfter) expect(result.retryAfterMs).toBe(7000);
      else expect(result.retryAfterMs).toBeUndefined();
    });

    it('does not retry a refused request', async () => {
      const result = await sendFailing('reject');
      expect(result.retryable).toBe(false);
      expect(result.error).toMatch(/400|550/);
    });

    it('fails retryably with a timeout message when context.signal times out', async () => {
      harness.setMode('hang');
      const result = failed(await harness.create().send(group(), context(AbortSignal.timeout(300))));
      errors.push(result.error);
      expect(result.retryable).toBe(true);
      expect(result.error).toMatch(/timed out after \d+ ms/);
    });

    it('fails retryably when context.signal is aborted (hub shutdown)', async () => {
      harness.setMode('hang');
      const controller = new AbortController();
      const pending = harness.create().send(group(), context(controller.signal));
      setTimeout(() => controller.abort(), 100);
      const result = failed(await pending);
      errors.push(result.error);
      expect(result.retryable).toBe(true);
      expect(result.error).toMatch(/timed out or cancelled/);
    });

    it('puts no secret in any error', () => {
      expect(errors.length).toBeGreaterThanOrEqual(6);
      expect(harness.secrets.length).toBeGreaterThan(0);
      for (const error of errors) {
        for (const secret of harness.secrets) expect(error).not.toContain(secret);
      }
    });
  });
}

/**
 * A harness for an HTTP notifier: a {@link startHttpReceiver} receiver answering with `handler` in mode
 * `ok`; `create(origin)` makes the notifier for a receiver origin.
 */
export function httpContractHarness(options: {
  create(origin: string): Notifier;
  statusOf(body: string): 'firing' | 'resolved';
  secrets: string[];
  handler?: (request: ReceivedRequest) => Reply;
}): NotifierContractHarness & { receiver(): HttpReceiver } {
  let receiver: HttpReceiver | undefined;
  const running = (): HttpReceiver => {
    if (receiver === undefined) throw new Error('receiver not started');
    return receiver;
  };
  return {
    async start() {
      receiver = await startHttpReceiver(options.handler);
    },
    stop: () => running().close(),
    create: () => options.create(running().origin),
    createUnreachable: async () => options.create(`http://127.0.0.1:${await closedPort()}`),
    setMode(mode) {
      running().mode = mode;
    },
    deliveries: () =>
      running()
        .requests.filter((request) => request.status !== undefined && request.status < 300)
        .map((request) => request.body),
    statusOf: options.statusOf,
    secrets: options.secrets,
    hasRetryAfter: true,
    receiver: running,
  };
}
