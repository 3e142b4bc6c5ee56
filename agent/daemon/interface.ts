/**
 * The capture interface: which one (the default route's, when the config says "auto") and making it
 * fit for capture (GRO/LRO off, MTU checked). Runs before tcpdump starts; never starts it.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

/** The interface of the default route, else the first interface that is up and not loopback. */
export function detectInterface(): string {
  try {
    const routes = JSON.parse(execFileSync('ip', ['-j', 'route', 'show', 'default'], { encoding: 'utf8' })) as Array<{ dev?: string }>;
    const dev = routes.find((route) => route.dev)?.dev;
    if (dev) return dev;
  } catch {
    // fall through to /sys
  }
  for (const name of readdirSync('/sys/class/net').sort()) {
    if (name === 'lo') continue;
    const state = readFileSync(`/sys/class/net/${name}/operstate`, 'utf8').trim();
    if (state === 'up' || state === 'unknown') return name;
  }
  throw new Error('no capture interface found (no default route and no interface up); set "interface" in the config');
}

/**
 * Turns GRO/LRO off (merged "packets" far above the MTU otherwise) and checks the MTU. Never throws:
 * returns what could not be done, for the log.
 */
export function prepareInterface(iface: string, wantOffloadsOff: boolean): { changed: string[]; problems: string[]; mtu?: number } {
  const changed: string[] = [];
  const problems: string[] = [];
  let mtu: number | undefined;
  try {
    mtu = Number(readFileSync(`/sys/class/net/${iface}/mtu`, 'utf8').trim());
    if (mtu < 9000) problems.push(`MTU of ${iface} is ${mtu}: mirrored 9000-byte packets plus VXLAN headers need 9000 or more`);
  } catch (error) {
    problems.push(`cannot read the MTU of ${iface}: ${(error as Error).message}`);
  }
  if (!wantOffloadsOff) return { changed, problems, ...(mtu !== undefined ? { mtu } : {}) };
  const OFFLOADS = { gro: 'generic-receive-offload', lro: 'large-receive-offload' } as const;
  const readOffloads = (): Record<string, { on: boolean; note: string }> => {
    const features = execFileSync('ethtool', ['-k', iface], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const states: Record<string, { on: boolean; note: string }> = {};
    for (const name of Object.values(OFFLOADS)) {
      const line = new RegExp(`^${name}: (on|off)(.*)$`, 'm').exec(features);
      states[name] = { on: line?.[1] === 'on', note: line?.[2]?.trim() ?? '' };
    }
    return states;
  };
  try {
    // Asking first keeps a restart quick: the offloads are normally off already.
    let states = readOffloads();
    const wanted = Object.entries(OFFLOADS).filter(([, name]) => states[name]?.on);
    if (wanted.length === 0) return { changed, problems, ...(mtu !== undefined ? { mtu } : {}) };
    for (const [feature] of wanted) {
      try {
        execFileSync('ethtool', ['-K', iface, feature, 'off'], { stdio: ['ignore', 'pipe', 'pipe'] });
        changed.push(`${feature} off`);
      } catch {
        // "fixed" features cannot be changed: reported below
      }
    }
    states = readOffloads();
    for (const name of Object.values(OFFLOADS)) {
      if (states[name]?.on) problems.push(`${name} is still on for ${iface}${states[name].note ? ` ${states[name].note}` : ''}`);
    }
  } catch (error) {
    problems.push(`ethtool cannot read the offloads of ${iface}: ${(error as Error).message.split('\n')[0]}`);
  }
  return { changed, problems, ...(mtu !== undefined ? { mtu } : {}) };
}

/** What the daemon needs of the interface; injectable so the daemon runs in tests without root. */
export interface CaptureInterface {
  detect: () => string;
  prepare: (iface: string, wantOffloadsOff: boolean) => { changed: string[]; problems: string[]; mtu?: number };
}

export const systemInterface: CaptureInterface = { detect: detectInterface, prepare: prepareInterface };
