/**
 * The one polling loop of the console: poll now, then again `intervalMs` after each poll settles,
 * only while the document is visible. A hidden tab costs the server nothing; showing it again
 * polls at once.
 */
import { untrack } from 'svelte';

export interface Poller {
  /** Stops for good: no timer, no listener left behind. */
  stop(): void;
  /** Polls now, restarting a loop that `poll` ended by answering false. */
  wake(): void;
}

/**
 * @param poll resolves true to keep polling, false to stop until `wake()` (e.g. a finished run)
 * @param onPause called when polling pauses or stops, to abort a request still in flight
 * @example $effect(() => { const poller = pollWhileVisible(() => refresh(), 3_000); return () => poller.stop(); })
 */
export function pollWhileVisible(
  poll: () => Promise<boolean>,
  intervalMs: number,
  onPause: () => void = () => {},
): Poller {
  // Each pause/resume starts a new generation, so a poll that settles late cannot start a
  // second timer chain next to the current one.
  let generation = 0;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hidden = () => document.visibilityState === 'hidden';

  const run = async (current: number): Promise<void> => {
    const again = await poll();
    if (again && current === generation && !stopped && !hidden()) {
      timer = setTimeout(() => void run(current), intervalMs);
    }
  };
  const pause = () => {
    generation += 1;
    clearTimeout(timer);
    onPause();
  };
  const resume = () => {
    pause();
    const current = generation;
    // Started from an $effect: what the first poll reads synchronously must not become the
    // effect's dependencies, or every result would restart the loop.
    untrack(() => void run(current));
  };
  const onVisibilityChange = () => (hidden() ? pause() : resume());

  document.addEventListener('visibilitychange', onVisibilityChange);
  if (!hidden()) resume();

  return {
    stop() {
      stopped = true;
      document.removeEventListener('visibilitychange', onVisibilityChange);
      pause();
    },
    wake() {
      if (!stopped && !hidden()) resume();
    },
  };
}
