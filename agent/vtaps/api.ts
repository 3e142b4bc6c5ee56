/**
 * The OCI calls `vtap-archiver vtaps` makes, behind one small interface so the operations can be
 * read (and tested against a local stand-in) without the SDK's request types in the way. The real
 * implementation uses the official oci-core and oci-networkloadbalancer clients with config-file
 * (API key) auth, as the OCI CLI does.
 */
import common from 'oci-common';

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
  freeformTags: Record<string, string>;
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
}

export interface SdkApiOptions {
  configFile?: string;
  profile?: string;
  region?: string;
  /** Replaces the service endpoints (a local stand-in in tests); http is accepted. */
  endpoint?: string;
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
  freeformTags?: Record<string, string>;
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
    freeformTags: vtap.freeformTags ?? {},
  };
}

/** Builds the SDK-backed API. The SDK modules load lazily: the agent bundle on a sink leaves them out. */
export async function createSdkApi(options: SdkApiOptions): Promise<VtapApi> {
  const [core, nlb] = await Promise.all([import('oci-core'), import('oci-networkloadbalancer')]);
  const auth = new common.ConfigFileAuthenticationDetailsProvider(options.configFile, options.profile ?? 'DEFAULT');
  // A breaker that opens after a few failures would hide the real error behind "circuit open".
  const clientConfiguration = { circuitBreaker: new common.CircuitBreaker({ disableClientCircuitBreaker: true }) };
  const network = new core.VirtualNetworkClient({ authenticationDetailsProvider: auth }, clientConfiguration as never);
  const balancers = new nlb.NetworkLoadBalancerClient({ authenticationDetailsProvider: auth }, clientConfiguration as never);
  const region = options.region ?? auth.getRegion()?.regionId;
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
  };
}
