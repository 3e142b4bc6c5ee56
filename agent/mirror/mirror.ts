/**
 * agent/mirror/: `mirror` on a host without a VTAP (plan, filter expression, tc/ip calls, state
 * file, length guard). Imports only fs/ (the state file is written durably); must not import the
 * packet core, store/ or daemon/.
 */
/**
 * `mirror start|stop|status`: a host without a VTAP mirrors one of its interfaces, both
 * directions, into a kernel VXLAN (or GRETAP) device towards a collector (a sink), with tc u32 +
 * mirred. Every step is recorded first in the state file, so a failed start undoes exactly what it
 * did, and `stop` removes everything: rules (with the clsact qdisc), tunnel device, offload changes.
 */
import { createHash } from 'node:crypto';
import { isIPv4 } from 'node:net';
import { UsageError } from '../usage-error.js';
import { parseFilterExpression } from './filter-expression.js';
import { ENCAP_OVERHEAD, planMirror, tcFilterArgs, type Encapsulation } from './plan.js';
import { listStates, readState, removeState, writeState, type MirrorState, type MirrorTarget } from './state.js';
import { enabledOffloads, hasClsact, host, linkInfo, mirredStats, routeTo, setOffloads, tcBatch, tunnelStats, type ActionStats } from './system.js';

export interface StartOptions extends MirrorTarget {
  maxPacketSize?: number;
  stateDir: string;
  log: (line: string) => void;
}

/** The tunnel device's name: short (IFNAMSIZ) and the same for the same interface. */
export function tunnelName(iface: string): string {
  return `vtm-${createHash('sha256').update(iface).digest('hex').slice(0, 8)}`;
}

/** Checks the options before anything is touched (bad input is a usage error, exit 2). */
export function checkStartOptions(options: StartOptions): void {
  if (!/^[A-Za-z0-9_.@-]{1,15}$/.test(options.iface)) throw new UsageError(`--interface "${options.iface}" is not an interface name`);
  if (!isIPv4(options.collector)) throw new UsageError(`--to "${options.collector}" must be the collector's IPv4 address`);
  if (!Number.isInteger(options.vni) || options.vni < 0 || options.vni > 0xffffff) throw new UsageError(`--vni must be 0..16777215, got ${options.vni}`);
  if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) throw new UsageError(`--port must be 1..65535, got ${options.port}`);
  if (options.encap !== 'vxlan' && options.encap !== 'gretap') throw new UsageError(`--encap must be vxlan or gretap, got "${options.encap}"`);
  if (options.maxPacketSize !== undefined && (!Number.isInteger(options.maxPacketSize) || options.maxPacketSize < 64 || options.maxPacketSize > 65535)) {
    throw new UsageError(`--max-packet-size must be 64..65535, got ${options.maxPacketSize}`);
  }
  if (options.filter !== undefined) parseFilterExpression(options.filter);
}

export async function startMirror(options: StartOptions): Promise<MirrorState> {
  checkStartOptions(options);
  const existing = await readState(options.stateDir, options.iface);
  if (existing) throw new UsageError(`${options.iface} is already mirrored to ${existing.collector} (vni ${existing.vni}); run "mirror stop" first`);
  const link = await linkInfo(options.iface);
  if (!link) throw new UsageError(`--interface ${options.iface}: no such interface`);
  if (await hasClsact(options.iface)) {
    throw new UsageError(`${options.iface} already has an ingress/clsact qdisc (someone else's tc rules); mirror needs it to itself`);
  }
  const route = await routeTo(options.collector);
  const tunnelDev = tunnelName(options.iface);
  const filter = options.filter === undefined ? undefined : parseFilterExpression(options.filter);
  let plan;
  try {
    plan = planMirror({
      iface: options.iface, ifaceMtu: link.mtu, collector: options.collector, port: options.port, encap: options.encap,
      tunnelDev, pathMtu: route.mtu, ...(filter ? { filter } : {}), ...(options.maxPacketSize ? { maxPacketSize: options.maxPacketSize } : {}),
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (plan.limited) {
    options.log(`frames over ${plan.maxFrame} bytes are not mirrored: ${options.iface} carries up to ${link.mtu + 14}, ` +
      `and ${options.encap} adds ${ENCAP_OVERHEAD[options.encap]} towards a path MTU of ${route.mtu} (via ${route.dev})` +
      `${options.maxPacketSize ? ` or --max-packet-size ${options.maxPacketSize}` : ''}; ` +
      'this kernel\'s tc cannot truncate them and fragments would be lost at the sink. Raise the path MTU to mirror them.');
  }

  const state: MirrorState = {
    version: 1, iface: options.iface, collector: options.collector, vni: options.vni, port: options.port, encap: options.encap,
    ...(options.filter !== undefined ? { filter: options.filter } : {}),
    maxFrame: plan.maxFrame, limited: plan.limited, startedAt: new Date().toISOString(), clsact: false, offloadsOff: [], rules: 0,
  };
  await writeState(options.stateDir, state);
  try {
    // The tunnel first: the rules point at it.
    state.tunnelDev = tunnelDev;
    await writeState(options.stateDir, state);
    const tunnel = options.encap === 'vxlan'
      ? ['type', 'vxlan', 'id', String(options.vni), 'local', route.source, 'remote', options.collector, 'dstport', String(options.port), 'nolearning']
      : ['type', 'gretap', 'local', route.source, 'remote', options.collector, 'key', String(options.vni)];
    await host('ip', ['link', 'add', tunnelDev, ...tunnel]).catch((error: Error) => {
      if (options.encap === 'gretap' && /Unknown device type|not supported/i.test(error.message)) {
        throw new Error('this kernel has no gretap devices (CONFIG_NET_IPGRE); use --encap vxlan');
      }
      throw error;
    });
    // No IPv6 link-local address, so the tunnel sends nothing of its own; it only carries mirrored frames.
    await host('ip', ['link', 'set', tunnelDev, 'addrgenmode', 'none']);
    await host('ip', ['link', 'set', tunnelDev, 'up']);

    state.offloadsOff = await enabledOffloads(options.iface);
    await writeState(options.stateDir, state);
    await setOffloads(options.iface, state.offloadsOff, 'off');

    state.clsact = true;
    await writeState(options.stateDir, state);
    await host('tc', ['qdisc', 'add', 'dev', options.iface, 'clsact']);
    await tcBatch(plan.rules.map((rule) => tcFilterArgs(options.iface, tunnelDev, rule)));
    state.rules = plan.rules.length;
    await writeState(options.stateDir, state);
  } catch (error) {
    await stopMirror(state, options.stateDir).catch(() => undefined);
    throw error;
  }
  return state;
}

/** Removes what the state says was created, in reverse order; tolerates parts already gone. */
export async function stopMirror(state: MirrorState, stateDir: string): Promise<string[]> {
  const problems: string[] = [];
  const attempt = async (what: string, step: () => Promise<unknown>, gone: (message: string) => boolean) => {
    try {
      await step();
    } catch (error) {
      const message = (error as Error).message;
      if (!gone(message)) problems.push(`${what}: ${message}`);
    }
  };
  const missing = (m: string) => /Cannot find device|Cannot find specified qdisc|does not exist|No such device|Invalid handle|Cannot delete qdisc with handle of zero|Error: Parent Qdisc doesn't exists/i.test(m);
  // Deleting the clsact qdisc deletes every rule on both directions with it.
  if (state.clsact) await attempt('tc qdisc', () => host('tc', ['qdisc', 'del', 'dev', state.iface, 'clsact']), missing);
  if (state.offloadsOff.length > 0) await attempt('offloads', () => setOffloads(state.iface, state.offloadsOff, 'on'), missing);
  if (state.tunnelDev) await attempt('tunnel', () => host('ip', ['link', 'del', state.tunnelDev!]), missing);
  if (problems.length === 0) await removeState(stateDir, state.iface);
  return problems;
}

export async function stopMirrors(stateDir: string, iface?: string): Promise<{ stopped: MirrorState[]; problems: string[] }> {
  const states = (await listStates(stateDir)).filter((s) => iface === undefined || s.iface === iface);
  if (iface !== undefined && states.length === 0) throw new UsageError(`${iface} is not mirrored (no state in ${stateDir})`);
  const problems: string[] = [];
  for (const state of states) problems.push(...(await stopMirror(state, stateDir)).map((p) => `${state.iface}: ${p}`));
  return { stopped: states, problems };
}

export interface MirrorStatus {
  state: MirrorState;
  /** False when the interface, its qdisc or the tunnel is gone (rebooted, deleted). */
  intact: boolean;
  ingress: ActionStats;
  egress: ActionStats;
  /** Mirrored packets the kernel could not send: mirred drops + tunnel transmit drops and errors. */
  dropped: number;
  tunnelPackets: number;
}

const ZERO: ActionStats = { packets: 0, bytes: 0, drops: 0, overlimits: 0 };

export async function mirrorStatus(stateDir: string): Promise<MirrorStatus[]> {
  const result: MirrorStatus[] = [];
  for (const state of await listStates(stateDir)) {
    const tunnel = state.tunnelDev ? await tunnelStats(state.tunnelDev) : undefined;
    const intact = tunnel !== undefined && (await hasClsact(state.iface).catch(() => false));
    const ingress = intact ? await mirredStats(state.iface, 'ingress', state.tunnelDev!) : ZERO;
    const egress = intact ? await mirredStats(state.iface, 'egress', state.tunnelDev!) : ZERO;
    const dropped = ingress.drops + ingress.overlimits + egress.drops + egress.overlimits + (tunnel ? tunnel.dropped + tunnel.errors : 0);
    result.push({ state, intact, ingress, egress, dropped, tunnelPackets: tunnel?.packets ?? 0 });
  }
  return result;
}
