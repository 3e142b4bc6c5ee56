import type { StoreLogger } from './logger.js';
import type { RetryPolicy } from './retry.js';

/** Instance principals: the default on a sink VM. The overrides exist for tests against the stand-in. */
export interface InstancePrincipalAuth {
  kind: 'instance-principal';
  /** Instance metadata base (default http://169.254.169.254/opc/v2/). */
  metadataBaseUrl?: string;
  /** Federation endpoint (default derived from the region: https://auth.<region>.oraclecloud.com). */
  federationEndpoint?: string;
}

/** A profile of an OCI config file (~/.oci/config), for a laptop. */
export interface ConfigFileAuth {
  kind: 'config-file';
  /** Default ~/.oci/config. */
  configFile?: string;
  /** Default DEFAULT. */
  profile?: string;
}

export type OciAuth = InstancePrincipalAuth | ConfigFileAuth;

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
