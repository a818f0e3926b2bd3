/**
 * The daemons' lifetime: start one, and stop it cleanly on SIGTERM or SIGINT. The handlers go in before
 * it starts, so a signal during start-up stops it once it is up.
 */

/**
 * Starts a daemon with `start` and stops it on the first SIGTERM or SIGINT: exit 0 once stopped, 1 (with
 * one line on stderr) when stopping fails.
 *
 * @example
 * await runUntilSignalled(() => runHub(opts));
 */
export async function runUntilSignalled(start: () => Promise<{ stop: () => Promise<void> }>): Promise<void> {
  let stop: (() => Promise<void>) | undefined;
  let requested: string | undefined;
  const shutdown = (signal: string) => {
    if (!stop) {
      requested = signal;
      return;
    }
    void stop().then(
      () => process.exit(0),
      (err: Error) => {
        console.error(`error while stopping after ${signal}: ${err.message}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  ({ stop } = await start());
  if (requested) shutdown(requested);
}
