/** Helpers of the agent's tests (test code: production never imports it). */

/**
 * Polls `condition` every `stepMs` until it holds; throws naming `what` after `timeoutMs` (default 60 s:
 * generous for a loaded CI machine, and the wait ends as soon as the condition holds).
 */
export async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 60_000,
  stepMs = 50,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(`timed out waiting for ${what}`);
}
