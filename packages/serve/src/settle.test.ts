import { describe, expect, it } from 'vitest';
import { errorMessage, settleWithin } from './settle.js';

describe('errorMessage', () => {
  it.each([
    ['an Error', new Error('disk full'), 'disk full'],
    ['an Error without message', new TypeError(), 'TypeError'],
    ['a string', 'plain text', 'plain text'],
    ['an object', { code: 42 }, '{"code":42}'],
    ['undefined', undefined, 'undefined'],
    [
      'an Error with a cause chain',
      new Error('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:5432') }),
      'fetch failed (cause: connect ECONNREFUSED 127.0.0.1:5432)',
    ],
    [
      'a message with a pasted stack',
      new Error('upstream said: boom\n    at handler (/srv/app.js:10:5)\n    at /srv/app.js:3:1'),
      'upstream said: boom',
    ],
    [
      'a message starting with "at"',
      new Error('at least one input is required'),
      'at least one input is required',
    ],
  ])('describes %s by its message only', (_what, thrown, expected) => {
    expect(errorMessage(thrown)).toBe(expected);
  });

  it('cuts messages longer than 500 characters', () => {
    const message = errorMessage(new Error('x'.repeat(2000)));
    expect(message).toHaveLength(500);
    expect(message.endsWith('…')).toBe(true);
  });
});

describe('settleWithin', () => {
  it('turns a synchronous throw into a failed result instead of a rejection', async () => {
    const settled = await settleWithin(
      () => {
        throw new Error('sync boom');
      },
      1000,
      'task',
    );
    expect(settled).toMatchObject({ ok: false, error: 'sync boom', timedOut: false });
  });
});
