/**
 * The one back-off rule for everything the agent retries: tcpdump restarts, opening the store,
 * uploads, and the OCI store's own request retries. Imports nothing, so every layer may use it.
 */

/**
 * Delay before the next attempt after `failures` consecutive failures (0 for the first retry):
 * exponential, capped at `maxMs`, with *equal* jitter: half of min(max, base * 2^failures) fixed,
 * half random.
 *
 * Equal rather than full jitter, deliberately: full jitter (anywhere in [0, ceiling]) spreads
 * retries best but may pick almost no delay several times running, which turns a tcpdump that dies
 * at once or a store that refuses every request into a tight loop. The fixed half keeps a floor that
 * doubles with each failure; the random half still keeps many sinks from retrying in step.
 */
export function backoffMs(failures: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(failures, 0), 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
