/**
 * The host commands `mirror` runs (ip, tc, ethtool), each without a shell, and what it reads back
 * from them: link MTU, the route towards the collector, offload settings, tc statistics.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export class HostCommandError extends Error {
  override name = 'HostCommandError';
}

export async function host(cmd: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileP(cmd, args, { encoding: 'utf8', timeout: 30_000, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const e = error as { stderr?: string; message: string; code?: string };
    if (e.code === 'ENOENT') throw new HostCommandError(`${cmd} is not installed (mirror needs iproute2 and ethtool)`);
    throw new HostCommandError(`${cmd} ${args.join(' ')}: ${(e.stderr ?? '').trim().split('\n')[0] || e.message}`);
  }
}

/** Runs many tc commands in one process (`tc -batch -`): a mirror is some thirty rules. */
export async function tcBatch(commands: string[][]): Promise<void> {
  const script = `${commands.map((args) => args.map((a) => (/^[\w.:/@-]+$/.test(a) ? a : `"${a}"`)).join(' ')).join('\n')}\n`;
  await new Promise<void>((resolve, reject) => {
    const child = execFile('tc', ['-batch', '-'], { encoding: 'utf8', timeout: 60_000 }, (error, _stdout, stderr) => {
      if (error) reject(new HostCommandError(`tc -batch: ${(stderr || error.message).trim().split('\n')[0]}`));
      else resolve();
    });
    child.stdin!.end(script);
  });
}

export interface LinkInfo {
  name: string;
  mtu: number;
  up: boolean;
}

export async function linkInfo(name: string): Promise<LinkInfo | undefined> {
  const text = await host('ip', ['-j', 'link', 'show', 'dev', name]).catch(() => undefined);
  if (text === undefined) return undefined;
  const [link] = JSON.parse(text) as { ifname: string; mtu: number; flags: string[] }[];
  return link ? { name: link.ifname, mtu: link.mtu, up: link.flags.includes('UP') } : undefined;
}

export interface RouteInfo {
  dev: string;
  /** The address the kernel sends from towards the destination. */
  source: string;
  /** The route's MTU: its own metric if set, else the device's. */
  mtu: number;
}

export async function routeTo(destination: string): Promise<RouteInfo> {
  const text = await host('ip', ['-j', 'route', 'get', destination]);
  const [route] = JSON.parse(text) as { dev: string; prefsrc?: string; metrics?: { mtu?: number }[] }[];
  if (!route?.dev || !route.prefsrc) throw new HostCommandError(`no route with a source address towards ${destination}`);
  const metricMtu = route.metrics?.find((m) => typeof m.mtu === 'number')?.mtu;
  const dev = await linkInfo(route.dev);
  return { dev: route.dev, source: route.prefsrc, mtu: Math.min(metricMtu ?? Infinity, dev?.mtu ?? Infinity) };
}

/** Offloads that merge or split packets: with them on, the mirror would see 64 KB super-packets. */
export const MERGING_OFFLOADS: Record<string, string> = {
  'generic-receive-offload': 'gro',
  'large-receive-offload': 'lro',
  'tcp-segmentation-offload': 'tso',
  'generic-segmentation-offload': 'gso',
};

/** The merging offloads that are on and can be changed (ethtool -k). */
export async function enabledOffloads(dev: string): Promise<string[]> {
  const text = await host('ethtool', ['-k', dev]);
  const on: string[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-z-]+): (on|off)( \[fixed\])?/.exec(line.trim());
    if (match && match[2] === 'on' && !match[3] && MERGING_OFFLOADS[match[1]!]) on.push(MERGING_OFFLOADS[match[1]!]!);
  }
  return on;
}

export async function setOffloads(dev: string, features: string[], value: 'on' | 'off'): Promise<void> {
  if (features.length === 0) return;
  await host('ethtool', ['-K', dev, ...features.flatMap((f) => [f, value])]);
}

export async function hasClsact(dev: string): Promise<boolean> {
  const qdiscs = JSON.parse(await host('tc', ['-j', 'qdisc', 'show', 'dev', dev])) as { kind: string }[];
  return qdiscs.some((q) => q.kind === 'clsact' || q.kind === 'ingress');
}

export interface ActionStats {
  packets: number;
  bytes: number;
  drops: number;
  overlimits: number;
}

interface TcFilterJson {
  pref: number;
  options?: { actions?: { kind: string; to_dev?: string; stats?: Partial<ActionStats> }[] };
}

/** Sum of the mirred actions' counters in one direction of a device (tc -s -j filter show). */
export async function mirredStats(dev: string, direction: 'ingress' | 'egress', target: string): Promise<ActionStats> {
  const filters = JSON.parse(await host('tc', ['-s', '-j', 'filter', 'show', 'dev', dev, direction]) || '[]') as TcFilterJson[];
  const sum: ActionStats = { packets: 0, bytes: 0, drops: 0, overlimits: 0 };
  for (const filter of filters) {
    for (const action of filter.options?.actions ?? []) {
      if (action.kind !== 'mirred' || action.to_dev !== target) continue;
      sum.packets += action.stats?.packets ?? 0;
      sum.bytes += action.stats?.bytes ?? 0;
      sum.drops += action.stats?.drops ?? 0;
      sum.overlimits += action.stats?.overlimits ?? 0;
    }
  }
  return sum;
}

/** Transmit counters of the tunnel device: what left, and what the kernel dropped or failed to send. */
export async function tunnelStats(dev: string): Promise<{ packets: number; dropped: number; errors: number } | undefined> {
  const text = await host('ip', ['-s', '-j', 'link', 'show', 'dev', dev]).catch(() => undefined);
  if (!text) return undefined;
  const [link] = JSON.parse(text) as { stats64?: { tx?: { packets: number; dropped: number; errors: number } } }[];
  const tx = link?.stats64?.tx;
  return tx ? { packets: tx.packets, dropped: tx.dropped, errors: tx.errors } : undefined;
}
