// One try of an SDK call: console noise diverted, and a 401 under instance principals answered by
// renewing the session token and trying once more.
import type { StoreLogger } from './logger.js';
import { statusOf } from './oci-errors.js';
import { quietly } from './quiet-sdk.js';

export async function attemptSdkCall<T>(logger: StoreLogger, renewToken: (() => Promise<void>) | undefined, fn: () => Promise<T>): Promise<T> {
  try {
    return await quietly(logger, fn);
  } catch (error) {
    if (statusOf(error) !== 401 || !renewToken) throw error;
    logger({ level: 'info', msg: 'session token refused (401); renewing it and trying once more' });
    await quietly(logger, renewToken);
    return quietly(logger, fn);
  }
}
