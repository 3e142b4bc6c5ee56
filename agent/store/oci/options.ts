import type { StoreLogger } from './logger.js';
import type { RetryPolicy } from './retry.js';

export type { ConfigFileAuth, InstancePrincipalAuth, OciAuth } from '../../oci/auth.js';
import type { OciAuth } from '../../oci/auth.js';

export interface OciStoreOptions {
  bucket: string;
  /** Looked up with GetNamespace when omitted. */
  namespace?: string;
  /** Taken from the config file profile or the instance metadata when omitted. */
  region?: string;
  auth: OciAuth;
  /** Object Storage endpoint override (the stand-in in tests); default from the region. */
  endpoint?: string;
  /** Files larger than this go up in parts (default 64 MiB). */
  multipartThreshold?: number;
  /** Part size (default 16 MiB). Memory in use is about partSize x parallelParts. */
  partSize?: number;
  /** Parts in flight at once (default 4). */
  parallelParts?: number;
  retry?: Partial<RetryPolicy>;
  /** Deadline of one request without a body (default 60 s); bodies get more time at 512 KB/s. */
  requestTimeoutMs?: number;
  /** Where the store says what failed and why (default: nowhere). */
  logger?: StoreLogger;
}
