/**
 * agent/oci/: how the agent signs in to OCI (instance principals on a sink, a config-file profile on
 * a laptop), shared by the Object Storage store, the capture-filter services and the Monitoring
 * publisher. Imports no other agent/ folder.
 */
// Builds the SDK's authentication provider with its circuit breakers off: a breaker that opens after a
// few failed token requests would turn a passing outage into 30-50 s of refused calls we cannot see.
import common from 'oci-common';

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

export type AuthProvider = common.AuthenticationDetailsProvider & Partial<common.RegionProvider>;

/** The builder keeps its breakers in protected fields; this subclass swaps them for disabled ones. */
class UnbrokenInstancePrincipalsBuilder extends common.InstancePrincipalsAuthenticationDetailsProviderBuilder {
  constructor() {
    super();
    this._circuitBreaker = null;
    this._authCircuitBreaker = new common.CircuitBreaker({ disableClientCircuitBreaker: true });
  }
}

export async function buildAuthProvider(auth: OciAuth): Promise<AuthProvider> {
  if (auth.kind === 'config-file') {
    return new common.ConfigFileAuthenticationDetailsProvider(auth.configFile, auth.profile);
  }
  const builder = new UnbrokenInstancePrincipalsBuilder();
  if (auth.metadataBaseUrl) builder.metadataBaseUrl = auth.metadataBaseUrl;
  if (auth.federationEndpoint) builder.federationEndpoint = auth.federationEndpoint;
  return builder.build();
}

/** The region the instance metadata names, for when the provider could not tell (federation endpoint set). */
export async function regionFromMetadata(metadataBaseUrl = 'http://169.254.169.254/opc/v2/'): Promise<string> {
  const base = metadataBaseUrl.endsWith('/') ? metadataBaseUrl : `${metadataBaseUrl}/`;
  const response = await fetch(`${base}instance/region`, { headers: { authorization: 'Bearer Oracle' }, signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`instance metadata ${base}instance/region answered ${response.status}`);
  return (await response.text()).trim();
}

/**
 * The SDK renews an instance-principal token only once its exp has passed; a 401 before then (token
 * revoked, clocks apart) is answered by one forced renewal, shared by concurrent callers.
 */
export function tokenRenewer(provider: AuthProvider): (() => Promise<void>) | undefined {
  const refreshable = provider as AuthProvider & { refresh?: () => Promise<unknown> };
  if (typeof refreshable.refresh !== 'function') return undefined;
  let inFlight: Promise<void> | undefined;
  return () => (inFlight ??= refreshable.refresh!().then(() => undefined).finally(() => (inFlight = undefined)));
}
