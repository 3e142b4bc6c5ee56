// Our own retries: the SDK's are off because it never retries streamed bodies and its back-off is not ours.
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffMs } from '../../backoff.js';
import type { StoreError } from '../errors.js';
import type { StoreLogger } from './logger.js';

export interface RetryPolicy {
  /** Total tries, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { attempts: 6, baseDelayMs: 500, maxDelayMs: 20_000 };

/**
 * Runs attempt() until it succeeds, it fails with a non-retryable StoreError, or the attempts run out.
 * attempt() must build its request afresh each time (a new file stream, a fresh date header).
 */
export async function withRetries<T>(
  policy: RetryPolicy,
  logger: StoreLogger,
  label: Record<string, unknown>,
  attempt: (n: number) => Promise<T>,
  classify: (error: unknown) => StoreError,
): Promise<T> {
  for (let n = 1; ; n += 1) {
    try {
      return await attempt(n);
    } catch (raw) {
      const error = classify(raw);
      if (!error.retryable || n >= policy.attempts) throw error;
      const delay = backoffMs(n - 1, policy.baseDelayMs, policy.maxDelayMs);
      logger({ level: 'warn', msg: `${error.message}; retrying in ${delay} ms`, attempt: n, ...label });
      await sleep(delay);
    }
  }
}
