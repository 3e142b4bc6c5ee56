/**
 * What `vtap-archiver vtaps` does with the API: find a deployment's VTAPs, wait for healthy sinks,
 * start or stop the VTAPs and wait until OCI reports them settled. VTAPs are created stopped (OCI
 * refuses to create a running one), so starting them is a separate, later step.
 */
import type { BackendHealth, VtapApi, VtapInfo } from './api.js';

/** Tag the stack puts on every VTAP it creates: app=vtap-archiver, deployment=<name_prefix>. */
export const APP_TAG = 'vtap-archiver';
export const DEFAULT_DEPLOYMENT = 'vtap-archiver';
export const DEFAULT_BACKEND_SET = 'sinks';

export interface Selection {
  compartmentId: string;
  deployment: string;
  /** Explicit VTAP OCIDs; when given, tags are not consulted. */
  vtapIds?: string[];
}

export interface Timing {
  /** How long to wait for sinks or VTAPs before giving up. */
  timeoutMs: number;
  pollMs: number;
  log: (line: string) => void;
  sleep?: (ms: number) => Promise<void>;
}

const GONE = new Set(['TERMINATING', 'TERMINATED']);
const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function selectVtaps(api: VtapApi, selection: Selection): Promise<VtapInfo[]> {
  const all = (await api.listVtaps(selection.compartmentId)).filter((v) => !GONE.has(v.lifecycleState));
  let chosen: VtapInfo[];
  if (selection.vtapIds && selection.vtapIds.length > 0) {
    const byId = new Map(all.map((v) => [v.id, v]));
    const missing = selection.vtapIds.filter((id) => !byId.has(id));
    if (missing.length > 0) throw new Error(`no such VTAP in compartment ${selection.compartmentId}: ${missing.join(', ')}`);
    chosen = selection.vtapIds.map((id) => byId.get(id)!);
  } else {
    chosen = all.filter((v) => v.freeformTags.app === APP_TAG && v.freeformTags.deployment === selection.deployment);
    if (chosen.length === 0) {
      throw new Error(`no VTAPs tagged app=${APP_TAG}, deployment=${selection.deployment} in compartment ${selection.compartmentId}`);
    }
  }
  return chosen.sort((a, b) => (a.vni ?? 0) - (b.vni ?? 0) || a.displayName.localeCompare(b.displayName));
}

/** The network load balancers the VTAPs mirror to. */
export function targets(vtaps: VtapInfo[]): string[] {
  return [...new Set(vtaps.filter((v) => v.targetType === 'NETWORK_LOAD_BALANCER' && v.targetId).map((v) => v.targetId!))];
}

export async function sinkHealth(api: VtapApi, vtaps: VtapInfo[], backendSet: string): Promise<Map<string, BackendHealth>> {
  const result = new Map<string, BackendHealth>();
  for (const nlb of targets(vtaps)) result.set(nlb, await api.backendHealth(nlb, backendSet));
  return result;
}

/** Waits until every target's backend set is OK with at least one backend: mirroring into no sink loses traffic. */
export async function waitForHealthySinks(api: VtapApi, vtaps: VtapInfo[], backendSet: string, timing: Timing): Promise<void> {
  const sleep = timing.sleep ?? defaultSleep;
  const deadline = Date.now() + timing.timeoutMs;
  for (;;) {
    const health = await sinkHealth(api, vtaps, backendSet);
    const waiting = [...health].filter(([, h]) => h.status !== 'OK' || h.total === 0);
    if (waiting.length === 0) {
      timing.log(`sinks healthy: ${[...health.values()].map((h) => `${h.total} backend(s) OK`).join(', ')}`);
      return;
    }
    const summary = waiting.map(([nlb, h]) => `${nlb}: ${h.status}, ${h.total} backend(s)${h.unhealthy.length ? `, not healthy: ${h.unhealthy.join(' ')}` : ''}`).join('; ');
    if (Date.now() >= deadline) throw new Error(`sinks not healthy after ${Math.round(timing.timeoutMs / 1000)} s (${summary})`);
    timing.log(`waiting for healthy sinks (${summary})`);
    await sleep(timing.pollMs);
  }
}

/**
 * Starts (enabled=true) or stops the VTAPs that are not already so, then waits until each is
 * AVAILABLE in the wanted state. Returns the VTAPs as OCI last reported them.
 */
export async function setVtaps(api: VtapApi, vtaps: VtapInfo[], enabled: boolean, timing: Timing): Promise<VtapInfo[]> {
  const sleep = timing.sleep ?? defaultSleep;
  const verb = enabled ? 'start' : 'stop';
  const changed: VtapInfo[] = [];
  for (const vtap of vtaps) {
    if (vtap.isVtapEnabled === enabled && vtap.lifecycleState === 'AVAILABLE') {
      timing.log(`${vtap.displayName}: already ${enabled ? 'running' : 'stopped'}`);
      continue;
    }
    if (vtap.lifecycleState !== 'AVAILABLE') {
      // OCI rejects updates while a VTAP is provisioning or updating; wait for it first.
      await settle(api, vtap.id, vtap.isVtapEnabled, timing, sleep, true);
    }
    timing.log(`${vtap.displayName}: ${verb}`);
    await api.setEnabled(vtap.id, enabled);
    changed.push(vtap);
  }
  const settled = new Map<string, VtapInfo>();
  for (const vtap of changed) settled.set(vtap.id, await settle(api, vtap.id, enabled, timing, sleep, false));
  return vtaps.map((v) => settled.get(v.id) ?? v);
}

async function settle(api: VtapApi, id: string, enabled: boolean, timing: Timing, sleep: (ms: number) => Promise<void>, anyState: boolean): Promise<VtapInfo> {
  const deadline = Date.now() + timing.timeoutMs;
  for (;;) {
    const vtap = await api.getVtap(id);
    if (vtap.lifecycleState === 'AVAILABLE' && (anyState || vtap.isVtapEnabled === enabled)) return vtap;
    if (GONE.has(vtap.lifecycleState)) throw new Error(`${vtap.displayName}: ${vtap.lifecycleState}`);
    if (Date.now() >= deadline) {
      throw new Error(`${vtap.displayName}: still ${vtap.lifecycleState}${anyState ? '' : `, running=${vtap.isVtapEnabled}`} after ${Math.round(timing.timeoutMs / 1000)} s`);
    }
    await sleep(timing.pollMs);
  }
}
