/**
 * agent/store/oci/: the ObjectStore for OCI Object Storage through the official SDK: auth (API key
 * or instance principals), multipart uploads, retries, stale-upload clean-up and error mapping.
 * Imports only its parent store/ (the contract, its errors, checksums); must not import daemon/,
 * archive/ or commands/.
 */
export { OciObjectStore, type StaleUploadFilter } from './store.js';
export { openOciStore, parseOciStoreUrl } from './url.js';
export type { OciAuth, OciStoreOptions, InstancePrincipalAuth, ConfigFileAuth } from './options.js';
export type { StoreLogger, StoreLogEvent } from './logger.js';
