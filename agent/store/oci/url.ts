// Store URLs of the form
//   oci://<namespace or ->/<bucket>?region=<r>&auth=instance-principal|config-file&profile=<p>&config=<path>
// ('-' as namespace: look it up with GetNamespace). Test-only overrides: endpoint, metadata, federation.
import type { OciAuth, OciStoreOptions } from './options.js';
import { OciObjectStore } from './store.js';

export function parseOciStoreUrl(url: string): OciStoreOptions {
  const parsed = new URL(url);
  if (parsed.protocol !== 'oci:') throw new Error(`not an oci: store URL: ${url}`);
  const namespace = decodeURIComponent(parsed.hostname || parsed.host);
  const bucket = decodeURIComponent(parsed.pathname.replace(/^\/+/, '').replace(/\/+$/, ''));
  if (!namespace) throw new Error(`store URL ${url} names no namespace (use oci://-/<bucket> to look it up)`);
  if (!bucket || bucket.includes('/')) throw new Error(`store URL ${url} must name exactly one bucket: oci://<namespace>/<bucket>`);
  const query = parsed.searchParams;
  const known = new Set(['region', 'auth', 'profile', 'config', 'endpoint', 'metadata', 'federation']);
  for (const key of query.keys()) if (!known.has(key)) throw new Error(`store URL ${url}: unknown parameter ${key}`);

  const kind = query.get('auth') ?? 'instance-principal';
  let auth: OciAuth;
  if (kind === 'instance-principal') {
    auth = { kind };
    const metadata = query.get('metadata');
    const federation = query.get('federation');
    if (metadata) auth.metadataBaseUrl = metadata;
    if (federation) auth.federationEndpoint = federation;
  } else if (kind === 'config-file') {
    auth = { kind };
    const config = query.get('config');
    const profile = query.get('profile');
    if (config) auth.configFile = config;
    if (profile) auth.profile = profile;
  } else {
    throw new Error(`store URL ${url}: auth must be instance-principal or config-file, not ${kind}`);
  }
  const options: OciStoreOptions = { bucket, auth };
  if (namespace !== '-') options.namespace = namespace;
  const region = query.get('region');
  const endpoint = query.get('endpoint');
  if (region) options.region = region;
  if (endpoint) options.endpoint = endpoint;
  return options;
}

/** Opens the store a URL names; extra options (logger, part sizes, retries) come from the caller. */
export function openOciStore(url: string, extra: Partial<OciStoreOptions> = {}): Promise<OciObjectStore> {
  return OciObjectStore.open({ ...parseOciStoreUrl(url), ...extra });
}
