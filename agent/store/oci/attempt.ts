// One try of an SDK call: console noise diverted, a deadline (the SDK sets none, so a stalled
// connection would hang an upload for good), and a 401 under instance principals answered by renewing
// the session token and trying once more.
import type { StoreLogger } from './logger.js';
import { statusOf } from './oci-errors.js';
import { quietly } from './quiet-sdk.js';

export interface AttemptOptions {
  logger: StoreLogger;
  renewToken?: (() => Promise<void>) | undefined;
  /** Give up on this try after this long; a retry follows (puts are idempotent, so a late first try is harmless). */
  timeoutMs: number;
}

export async function attemptSdkCall<T>(options: AttemptOptions, fn: () => Promise<T>): Promise<T> {
  const once = () => withDeadline(quietly(options.logger, fn), options.timeoutMs);
  try {
    return await once();
  } catch (error) {
    if (statusOf(error) !== 401 || !options.renewToken) throw error;
    options.logger({ level: 'info', msg: 'session token refused (401); renewing it and trying once more' });
    await quietly(options.logger, options.renewToken);
    return once();
  }
}

/** Rejects like a network failure (no status, so it is retried) when the call outlives the deadline. */
function withDeadline<T>(call: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject({ code: 'ETIMEDOUT', message: `no answer within ${ms} ms` }), ms);
  });
  return Promise.race([call, deadline]).finally(() => clearTimeout(timer));
}

/** A deadline for a request carrying `bytes`: the base, plus time for the body at a floor rate. */
export function deadlineFor(baseMs: number, bytes = 0): number {
  const FLOOR_BYTES_PER_MS = 512; // 512 KB/s: far below any sink's link, far above a stalled one
  return baseMs + Math.ceil(bytes / FLOOR_BYTES_PER_MS);
}
