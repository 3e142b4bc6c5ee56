export { OciObjectStore, type StaleUploadFilter } from './store.js';
export { openOciStore, parseOciStoreUrl } from './url.js';
export type { OciAuth, OciStoreOptions, InstancePrincipalAuth, ConfigFileAuth } from './options.js';
export type { StoreLogger, StoreLogEvent } from './logger.js';
