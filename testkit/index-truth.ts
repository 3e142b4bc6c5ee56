/**
 * Flows and classes of a pcap as tshark dissects them, in the index's terms (agent/index/format.ts),
 * and the same view of an index: tests compare the two.
 */
import type { ArchiveIndex } from '../agent/index/format.js';
import { fields } from './tshark.js';

export interface Tally {
  packets: number;
  bytes: number;
  first: string;
  last: string;
  frames: Set<number>;
}

const FIELDS = ['frame.time_epoch', 'frame.cap_len', 'frame.protocols', 'vlan.id', 'ip.src', 'ip.dst', 'ip.proto', 'ip.frag_offset', 'ipv6.src', 'ipv6.dst', 'ipv6.nxt', 'tcp.srcport', 'tcp.dstport', 'udp.srcport', 'udp.dstport', 'ieee8021ad.id'];

/** Packet number (0-based) -> frame number, from the index's per-frame packet counts. */
export function frameOfPacket(index: ArchiveIndex): number[] {
  const frameOf: number[] = [];
  for (const f of index.frames) for (let i = 0; i < f.packets; i += 1) frameOf.push(f.i);
  return frameOf;
}

/** tshark's view: "flow v src dst proto sport dport vlan" / "class name vlan" -> tally. */
export async function tsharkTallies(pcap: string, frameOf: number[]): Promise<Map<string, Tally>> {
  const rows = await fields(pcap, FIELDS);
  const out = new Map<string, Tally>();
  rows.forEach((row, n) => {
    const [time, capLen, protocols, dot1q, src4, dst4, proto4, frag, src6, dst6, nxt6, tsp, tdp, usp, udp, dot1ad] = row as string[];
    // The outermost tag names the VLAN: tshark calls an 802.1ad (0x88a8) tag ieee8021ad.
    const vlan = dot1ad || dot1q || '-';
    let key: string;
    if (src4 || src6) {
      const nonFirstFragment = Number(frag || 0) > 0;
      const sport = nonFirstFragment ? 0 : Number(tsp || usp || 0);
      const dport = nonFirstFragment ? 0 : Number(tdp || udp || 0);
      key = `flow ${src4 ? 4 : 6} ${src4 || src6} ${dst4 || dst6} ${Number(src4 ? proto4 : nxt6)} ${sport} ${dport} ${vlan}`;
    } else {
      key = `class ${protocols!.includes(':arp') ? 'arp' : protocols!.includes(':lldp') ? 'ethertype-0x88cc' : `? ${protocols}`} ${vlan}`;
    }
    const [secs = '0', frac = ''] = time!.split('.');
    const ns = (BigInt(secs) * 1_000_000_000n + BigInt(frac.padEnd(9, '0'))).toString();
    const t = out.get(key) ?? { packets: 0, bytes: 0, first: ns, last: ns, frames: new Set<number>() };
    t.packets += 1;
    t.bytes += Number(capLen);
    if (BigInt(ns) < BigInt(t.first)) t.first = ns;
    if (BigInt(ns) > BigInt(t.last)) t.last = ns;
    t.frames.add(frameOf[n]!);
    out.set(key, t);
  });
  return out;
}

/** The index's view, keyed like tsharkTallies. */
export function indexTallies(index: ArchiveIndex): Map<string, Tally> {
  const expand = (ranges: Array<[number, number]>) => new Set(ranges.flatMap(([a, b]) => Array.from({ length: b - a + 1 }, (_, i) => a + i)));
  const out = new Map<string, Tally>();
  for (const f of index.flows) {
    out.set(`flow ${f.v} ${f.src} ${f.dst} ${f.proto} ${f.sport} ${f.dport} ${f.vlan ?? '-'}`, { packets: f.packets, bytes: f.bytes, first: f.firstNs, last: f.lastNs, frames: expand(f.frames) });
  }
  for (const c of index.classes) {
    out.set(`class ${c.class} ${c.vlan ?? '-'}`, { packets: c.packets, bytes: c.bytes, first: c.firstNs, last: c.lastNs, frames: expand(c.frames) });
  }
  return out;
}
