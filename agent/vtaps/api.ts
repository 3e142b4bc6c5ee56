/**
 * agent/vtaps/: `vtaps` and `filter`: VTAPs and their capture filter through the OCI SDK (this
 * interface), the capture-rule translation, the agent-side services and the expiry sweep. Imports no
 * other agent/ folder except oci/ (authentication shared with the store) and
 * daemon/filter-endpoint.ts, which agent-services.ts loads lazily for the agent's filter endpoint; must not import commands/ or the packet core.
 */
/**
 * The OCI calls `vtap-archiver vtaps` and `filter` make, behind one small interface so the
 * operations can be read (and tested against a local stand-in) without the SDK's request types in
 * the way. The real implementation uses the official oci-core and oci-networkloadbalancer clients,
 * authenticated as the store is (agent/oci/auth.ts): config-file (API key) on a laptop, as the OCI
 * CLI does, or instance principals on a sink.
 */
import common from 'oci-common';
import { buildAuthProvider, regionFromMetadata } from '../oci/auth.js';
import type { OciRule } from './capture-rules.js';

export type VtapState = 'PROVISIONING' | 'AVAILABLE' | 'TERMINATING' | 'TERMINATED' | 'UPDATING' | string;

export interface VtapInfo {
  id: string;
  displayName: string;
  lifecycleState: VtapState;
  isVtapEnabled: boolean;
  sourceId: string;
  targetId?: string;
  targetType?: string;
  vni?: number;
  captureFilterId?: string;
  freeformTags: Record<string, string>;
}

/** A VTAP capture filter as `vtap-archiver filter` needs it; etag for optimistic concurrency. */
export interface CaptureFilterInfo {
  id: string;
  displayName: string;
  lifecycleState: string;
  rules: OciRule[];
  freeformTags: Record<string, string>;
  etag?: string;
}

export type BackendHealthStatus = 'OK' | 'WARNING' | 'CRITICAL' | 'UNKNOWN' | string;

export interface BackendHealth {
  status: BackendHealthStatus;
  total: number;
  unhealthy: string[];
}

export interface VtapApi {
  listVtaps(compartmentId: string): Promise<VtapInfo[]>;
  getVtap(id: string): Promise<VtapInfo>;
  setEnabled(id: string, enabled: boolean): Promise<VtapInfo>;
  backendHealth(networkLoadBalancerId: string, backendSetName: string): Promise<BackendHealth>;
  getCaptureFilter(id: string): Promise<CaptureFilterInfo>;
  /** Replaces the rules and freeform tags; with ifMatch, fails (412) if the filter changed since that read. */
  updateCaptureFilter(id: string, change: { rules: OciRule[]; freeformTags: Record<string, string> }, ifMatch?: string): Promise<CaptureFilterInfo>;
}

export interface SdkApiOptions {
  configFile?: string;
  profile?: string;
  region?: string;
  /** Replaces the service endpoints (a local stand-in in tests); http is accepted. */
  endpoint?: string;
  /** config-file (default, a laptop) or instance-principal (the agent on a sink VM). */
  auth?: 'config-file' | 'instance-principal';
  /** Instance-principal overrides (tests against the stand-in), as in the store URL. */
  metadataBaseUrl?: string;
  federationEndpoint?: string;
}

interface SdkVtap {
  id: string;
  displayName?: string;
  lifecycleState: string;
  isVtapEnabled?: boolean;
  sourceId: string;
  targetId?: string;
  targetType?: string;
  vxlanNetworkIdentifier?: number;
  captureFilterId?: string;
  freeformTags?: Record<string, string>;
}

interface SdkCaptureFilter {
  id: string;
  displayName?: string;
  lifecycleState?: string;
  vtapCaptureFilterRules?: OciRule[];
  freeformTags?: Record<string, string>;
}

function toFilterInfo(filter: SdkCaptureFilter, etag: string | undefined): CaptureFilterInfo {
  return {
    id: filter.id,
    displayName: filter.displayName ?? filter.id,
    lifecycleState: filter.lifecycleState ?? 'AVAILABLE',
    rules: filter.vtapCaptureFilterRules ?? [],
    freeformTags: filter.freeformTags ?? {},
    ...(etag ? { etag } : {}),
  };
}

function toInfo(vtap: SdkVtap): VtapInfo {
  return {
    id: vtap.id,
    displayName: vtap.displayName ?? vtap.id,
    lifecycleState: vtap.lifecycleState,
    isVtapEnabled: vtap.isVtapEnabled === true,
    sourceId: vtap.sourceId,
    ...(vtap.targetId ? { targetId: vtap.targetId } : {}),
    ...(vtap.targetType ? { targetType: vtap.targetType } : {}),
    ...(vtap.vxlanNetworkIdentifier !== undefined ? { vni: Number(vtap.vxlanNetworkIdentifier) } : {}),
    ...(vtap.captureFilterId ? { captureFilterId: vtap.captureFilterId } : {}),
    freeformTags: vtap.freeformTags ?? {},
  };
}

/** Builds the SDK-backed API. The SDK clients load lazily: only the commands and services that call OCI pay for them. */
export async function createSdkApi(options: SdkApiOptions): Promise<VtapApi> {
  const [core, nlb] = await Promise.all([import('oci-core'), import('oci-networkloadbalancer')]);
  const instancePrincipal = options.auth === 'instance-principal';
  const auth = await buildAuthProvider(instancePrincipal
    ? {
        kind: 'instance-principal',
        ...(options.metadataBaseUrl ? { metadataBaseUrl: options.metadataBaseUrl } : {}),
        ...(options.federationEndpoint ? { federationEndpoint: options.federationEndpoint } : {}),
      }
    : { kind: 'config-file', ...(options.configFile ? { configFile: options.configFile } : {}), profile: options.profile ?? 'DEFAULT' });
  // A breaker that opens after a few failures would hide the real error behind "circuit open".
  const clientConfiguration = { circuitBreaker: new common.CircuitBreaker({ disableClientCircuitBreaker: true }) };
  const network = new core.VirtualNetworkClient({ authenticationDetailsProvider: auth }, clientConfiguration as never);
  const balancers = new nlb.NetworkLoadBalancerClient({ authenticationDetailsProvider: auth }, clientConfiguration as never);
  // With a federation endpoint given, the provider cannot name the region: the instance metadata does (a short code).
  const region = options.region ?? auth.getRegion?.()?.regionId
    ?? (instancePrincipal ? common.Region.getRegionIdFromShortCode(await regionFromMetadata(options.metadataBaseUrl)) : undefined);
  if (region) {
    network.regionId = region;
    balancers.regionId = region;
  }
  if (options.endpoint) {
    network.endpoint = options.endpoint;
    balancers.endpoint = options.endpoint;
  }

  return {
    async listVtaps(compartmentId) {
      const vtaps: VtapInfo[] = [];
      let page: string | undefined;
      do {
        const response = await network.listVtaps({ compartmentId, ...(page ? { page } : {}) });
        vtaps.push(...response.items.map((v) => toInfo(v as SdkVtap)));
        page = response.opcNextPage;
      } while (page);
      return vtaps;
    },
    async getVtap(id) {
      return toInfo((await network.getVtap({ vtapId: id })).vtap as SdkVtap);
    },
    async setEnabled(id, enabled) {
      return toInfo((await network.updateVtap({ vtapId: id, updateVtapDetails: { isVtapEnabled: enabled } })).vtap as SdkVtap);
    },
    async backendHealth(networkLoadBalancerId, backendSetName) {
      const health = (await balancers.getBackendSetHealth({ networkLoadBalancerId, backendSetName })).backendSetHealth;
      return {
        status: health.status,
        total: health.totalBackendCount,
        unhealthy: [...health.criticalStateBackendNames, ...health.warningStateBackendNames, ...health.unknownStateBackendNames],
      };
    },
    async getCaptureFilter(id) {
      const response = await network.getCaptureFilter({ captureFilterId: id });
      return toFilterInfo(response.captureFilter as SdkCaptureFilter, response.etag);
    },
    async updateCaptureFilter(id, change, ifMatch) {
      const response = await network.updateCaptureFilter({
        captureFilterId: id,
        updateCaptureFilterDetails: { vtapCaptureFilterRules: change.rules as never, freeformTags: change.freeformTags },
        ...(ifMatch ? { ifMatch } : {}),
      });
      return toFilterInfo(response.captureFilter as SdkCaptureFilter, response.etag);
    },
  };
}
