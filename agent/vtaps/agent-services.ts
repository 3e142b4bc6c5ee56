/**
 * Starts the agent's optional capture-filter services from its config (both off by default): the
 * expiry sweep and the HTTP filter endpoint. Loads the OCI SDK only when one of them is on.
 */
import { readFile } from 'node:fs/promises';
import type { CaptureFilterConfig } from './filter-config.js';

export interface ServiceLogger {
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
}

/** Returns a function that stops whatever was started. */
export async function startCaptureFilterServices(config: CaptureFilterConfig, logger: ServiceLogger): Promise<() => Promise<void>> {
  if (!config.expirySweep.enabled && !config.endpoint.enabled) return async () => undefined;
  const [{ createSdkApi }, { changeFilter, findCaptureFilter }, { startExpirySweep }, { FilterEndpoint }] = await Promise.all([
    import('./api.js'), import('./capture-filter.js'), import('./expiry.js'), import('../daemon/filter-endpoint.js'),
  ]);
  const api = await createSdkApi({
    auth: config.auth,
    ...(config.configFile ? { configFile: config.configFile } : {}),
    ...(config.profile ? { profile: config.profile } : {}),
    ...(config.region ? { region: config.region } : {}),
    ...(config.apiEndpoint ? { endpoint: config.apiEndpoint } : {}),
    ...(config.metadataBaseUrl ? { metadataBaseUrl: config.metadataBaseUrl } : {}),
    ...(config.federationEndpoint ? { federationEndpoint: config.federationEndpoint } : {}),
  });
  const log = (level: 'info' | 'warn', msg: string, fields: Record<string, unknown> = {}) => logger[level](fields, msg);
  const where = { compartmentId: config.compartment ?? '', deployment: config.deployment, ...(config.filterId ? { filterId: config.filterId } : {}) };
  const stops: (() => Promise<void>)[] = [];
  if (config.expirySweep.enabled) {
    stops.push(startExpirySweep({ api, ...where, intervalMs: config.expirySweep.intervalSeconds * 1000, log }));
  }
  if (config.endpoint.enabled) {
    const token = config.endpoint.token ?? (await readFile(config.endpoint.tokenFile!, 'utf8')).trim();
    const endpoint = new FilterEndpoint({
      host: config.endpoint.host,
      port: config.endpoint.port,
      token,
      change: async (change) => changeFilter(api, await findCaptureFilter(api, where), change),
      show: async () => api.getCaptureFilter(await findCaptureFilter(api, where)),
      log,
    });
    await endpoint.start();
    log('info', 'capture filter endpoint listening', { host: config.endpoint.host, port: endpoint.address.port });
    stops.push(() => endpoint.stop());
  }
  return async () => {
    for (const stop of stops) await stop();
  };
}
