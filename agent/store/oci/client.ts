// An ObjectStorageClient with the SDK's retries and circuit breaker off (the store retries itself,
// with back-off and re-sendable bodies), pointed at a region or an explicit endpoint.
import common from 'oci-common';
import objectstorage from 'oci-objectstorage';
import { regionFromMetadata, type AuthProvider } from '../../oci/auth.js';
import type { OciStoreOptions } from './options.js';

export type ObjectStorageClient = objectstorage.ObjectStorageClient;

export async function resolveRegion(options: OciStoreOptions, provider: AuthProvider): Promise<string> {
  if (options.region) return options.region;
  const fromProvider = provider.getRegion?.()?.regionId;
  if (fromProvider) return fromProvider;
  if (options.auth.kind === 'instance-principal') {
    return common.Region.getRegionIdFromShortCode(await regionFromMetadata(options.auth.metadataBaseUrl));
  }
  throw new Error('no region: set region= in the store URL or region in the config file profile');
}

export function createClient(provider: AuthProvider, region: string, endpoint?: string): ObjectStorageClient {
  const client = new objectstorage.ObjectStorageClient(
    { authenticationDetailsProvider: provider },
    {
      retryConfiguration: { terminationStrategy: new common.MaxAttemptsTerminationStrategy(1) },
      circuitBreaker: new common.CircuitBreaker({ disableClientCircuitBreaker: true }),
    },
  );
  client.regionId = region;
  // Set after the region: assigning a region resets the endpoint.
  if (endpoint) client.endpoint = endpoint;
  return client;
}
