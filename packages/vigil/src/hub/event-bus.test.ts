import { describe, expect, it } from 'vitest';
import type { ProbeResult } from '../types.js';
import { createEventBus } from './event-bus.js';
import type { HubEvent } from './types.js';

const result: ProbeResult = {
  checkId: 'a/liveness',
  target: 'a',
  check: 'liveness',
  region: 'local',
  startedAt: 1,
  durationMs: 1,
  phases: { dnsMs: 0, connectMs: 0, tlsMs: 0, processingMs: 1, transferMs: 0 },
  outcome: 'pass',
  failures: [],
};

describe('createEventBus', () => {
  it('delivers events in order to every listener, isolating one that throws', () => {
    const errors: string[] = [];
    const events = createEventBus((_level, message) => errors.push(message));
    const seen: string[] = [];
    events.subscribe(() => {
      throw new Error('broken listener');
    });
    events.subscribe((e: HubEvent) => seen.push(e.type));
    events.publish({ type: 'result', result });
    events.publish({
      type: 'flap',
      flap: { checkId: 'a/liveness', region: 'local', flapping: true, at: 1, transitionsInWindow: 6 },
    });
    expect(seen).toEqual(['result', 'flap']);
    expect(errors).toEqual([
      'event listener failed: broken listener',
      'event listener failed: broken listener',
    ]);
  });

  it('says whether anyone listens, and stops delivering after unsubscribe', () => {
    const events = createEventBus(() => {});
    expect(events.hasListeners()).toBe(false);
    const seen: HubEvent[] = [];
    const off = events.subscribe((e) => seen.push(e));
    expect(events.hasListeners()).toBe(true);
    events.publish({ type: 'result', result });
    off();
    expect(events.hasListeners()).toBe(false);
    events.publish({ type: 'result', result });
    expect(seen).toHaveLength(1);
  });
});
