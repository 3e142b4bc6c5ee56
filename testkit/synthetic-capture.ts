/**
 * Builds classic pcap files of inner (already decapsulated) Ethernet frames for the archive-format
 * tests: IPv4 and IPv6 TCP/UDP, ICMP, 802.1Q and QinQ tags, IPv4 fragments, ARP and LLDP, with
 * payloads that compress (JSON text) or do not (random bytes). Deterministic for a given seed.
 */
import { writeFile } from 'node:fs/promises';

/** A small deterministic PRNG (mulberry32), so captures and their objects are reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FrameSpec {
  v: 4 | 6 | 'arp' | 'lldp';
  src?: string;
  dst?: string;
  proto?: number;
  sport?: number;
  dport?: number;
  /** Outer-first VLAN ids (two = QinQ, outer tagged 0x88a8). */
  vlans?: number[];
  payload?: number;
  random?: boolean;
  /** IPv4 only: fragment offset in 8-byte units (non-zero: a non-first fragment, no ports). */
  fragmentOffset?: number;
}

function ipv4Bytes(text: string): Buffer {
  return Buffer.from(text.split('.').map(Number));
}

function ipv6Bytes(text: string): Buffer {
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g || '0', 16), i * 2));
  return out;
}

/** One Ethernet frame as described. */
export function buildFrame(spec: FrameSpec, rand: () => number): Buffer {
  const parts: Buffer[] = [Buffer.from('020000000002020000000001', 'hex')];
  const vlans = spec.vlans ?? [];
  vlans.forEach((vid, i) => {
    const tag = Buffer.alloc(4);
    tag.writeUInt16BE(i === 0 && vlans.length > 1 ? 0x88a8 : 0x8100, 0);
    tag.writeUInt16BE(vid, 2);
    parts.push(tag);
  });
  const payload = Buffer.alloc(spec.payload ?? 64);
  if (spec.random) for (let i = 0; i < payload.length; i += 1) payload[i] = Math.floor(rand() * 256);
  else payload.write(`{"path":"/api/v1/items/${Math.floor(rand() * 1000)}","status":200}\n`.repeat(Math.ceil(payload.length / 40)));
  const type = Buffer.alloc(2);
  if (spec.v === 'arp') {
    type.writeUInt16BE(0x0806);
    parts.push(type, Buffer.from('0001080006040001020000000001c0a80001000000000000c0a80002', 'hex'));
    return Buffer.concat(parts);
  }
  if (spec.v === 'lldp') {
    type.writeUInt16BE(0x88cc);
    parts.push(type, Buffer.from('020704020000000001040302000106020078', 'hex'), Buffer.alloc(2));
    return Buffer.concat(parts);
  }
  const proto = spec.proto ?? 6;
  let l4: Buffer;
  if (proto === 6 || proto === 17) {
    l4 = Buffer.alloc(proto === 6 ? 20 : 8);
    l4.writeUInt16BE(spec.sport ?? 0, 0);
    l4.writeUInt16BE(spec.dport ?? 0, 2);
    if (proto === 6) l4[12] = 0x50;
    else l4.writeUInt16BE(8 + payload.length, 4);
  } else {
    l4 = Buffer.alloc(8);
    l4[0] = spec.v === 4 ? 8 : 128; // echo request
  }
  const fragment = spec.v === 4 && (spec.fragmentOffset ?? 0) > 0;
  const body = fragment ? payload : Buffer.concat([l4, payload]);
  if (spec.v === 4) {
    type.writeUInt16BE(0x0800);
    const ip = Buffer.alloc(20);
    ip[0] = 0x45;
    ip.writeUInt16BE(20 + body.length, 2);
    ip.writeUInt16BE(spec.fragmentOffset ?? 0, 6);
    ip[8] = 64;
    ip[9] = proto;
    ipv4Bytes(spec.src ?? '10.0.0.1').copy(ip, 12);
    ipv4Bytes(spec.dst ?? '10.0.0.2').copy(ip, 16);
    parts.push(type, ip, body);
  } else {
    type.writeUInt16BE(0x86dd);
    const ip = Buffer.alloc(40);
    ip[0] = 0x60;
    ip.writeUInt16BE(body.length, 4);
    ip[6] = proto === 1 ? 58 : proto;
    ip[7] = 64;
    ipv6Bytes(spec.src ?? 'fd00::1').copy(ip, 8);
    ipv6Bytes(spec.dst ?? 'fd00::2').copy(ip, 24);
    parts.push(type, ip, body);
  }
  return Buffer.concat(parts);
}

export interface TimedFrame {
  ns: bigint;
  frame: Buffer;
}

/** A nanosecond little-endian classic pcap (link type Ethernet) of the frames, in the given order. */
export function pcapOf(frames: TimedFrame[]): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b23c4d, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(262144, 16);
  header.writeUInt32LE(1, 20);
  const parts: Buffer[] = [header];
  for (const { ns, frame } of frames) {
    const record = Buffer.alloc(16);
    record.writeUInt32LE(Number(ns / 1_000_000_000n), 0);
    record.writeUInt32LE(Number(ns % 1_000_000_000n), 4);
    record.writeUInt32LE(frame.length, 8);
    record.writeUInt32LE(frame.length, 12);
    parts.push(record, frame);
  }
  return Buffer.concat(parts);
}

/** Starts at 2026-11-21T14:05:01Z; all packets stay inside that hour. */
export const BASE_NS = 1_795_269_901_000_000_000n;

/**
 * A mixed capture of about `megabytes` MB: a few long flows (v4/v6, tagged and untagged, random
 * and text payloads), ICMP, fragments, ARP and LLDP, spread over several minutes.
 */
export function mixedCapture(megabytes: number, seed = 1): TimedFrame[] {
  const rand = prng(seed);
  const flows: FrameSpec[] = [
    { v: 4, src: '10.0.3.7', dst: '203.0.113.9', proto: 6, sport: 51514, dport: 443, payload: 1400, random: true },
    { v: 4, src: '203.0.113.9', dst: '10.0.3.7', proto: 6, sport: 443, dport: 51514, payload: 60 },
    { v: 4, src: '10.0.3.8', dst: '10.0.9.1', proto: 17, sport: 5353, dport: 53, payload: 900, vlans: [100] },
    { v: 6, src: 'fd00::10', dst: '2001:db8::1:0:0:9', proto: 6, sport: 40000, dport: 80, payload: 1400 },
    { v: 6, src: 'fd00::11', dst: 'fd00::12', proto: 17, sport: 1234, dport: 4321, payload: 500, vlans: [200, 300] },
    { v: 4, src: '10.0.3.9', dst: '10.0.3.10', proto: 1, payload: 56 },
    { v: 6, src: 'fd00::20', dst: 'fd00::21', proto: 1, payload: 56 },
    { v: 4, src: '10.0.5.1', dst: '10.0.5.2', proto: 17, fragmentOffset: 185, payload: 1200 },
    { v: 'arp', vlans: [100] },
    { v: 'lldp' },
  ];
  const out: TimedFrame[] = [];
  let bytes = 0;
  let ns = BASE_NS;
  while (bytes < megabytes * 1_000_000) {
    const spec = flows[Math.floor(rand() * flows.length)]!;
    const frame = buildFrame(spec, rand);
    ns += BigInt(Math.floor(rand() * 200_000) + 1);
    out.push({ ns, frame });
    bytes += frame.length + 16;
  }
  return out;
}

/** A port scan: one SYN per (address, port), IPv4 and IPv6 interleaved: the index's worst case. */
export function portScan(packets: number): TimedFrame[] {
  const rand = prng(7);
  const out: TimedFrame[] = [];
  for (let i = 0; i < packets; i += 1) {
    const port = 1 + (i % 65535);
    const host = Math.floor(i / 65535);
    const spec: FrameSpec =
      i % 2 === 0
        ? { v: 4, src: '198.51.100.7', dst: `10.${(host >> 8) & 255}.${host & 255}.${(i >> 3) & 255}`, proto: 6, sport: 40000 + (i % 1000), dport: port, payload: 0 }
        : { v: 6, src: '2001:db8::7', dst: `fd00::${(i & 0xffff).toString(16)}`, proto: 6, sport: 40000 + (i % 1000), dport: port, payload: 0 };
    out.push({ ns: BASE_NS + BigInt(i) * 10_000n, frame: buildFrame(spec, rand) });
  }
  return out;
}

export async function writeCapture(path: string, frames: TimedFrame[]): Promise<void> {
  await writeFile(path, pcapOf(frames));
}
