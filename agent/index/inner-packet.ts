/**
 * Hot path: classifies one inner packet (as stored in the object) for the index, without
 * allocating: the flow key fields go into a reused `InnerPacket`.
 */
import { LINKTYPE_ETHERNET, LINKTYPE_IPV4, LINKTYPE_IPV6, LINKTYPE_RAW } from '../pcap/format.js';

export const KIND_FLOW = 0;
export const KIND_CLASS = 1;

/** Protocols whose first 4 bytes are source and destination port. */
const PORTED = new Uint8Array(256);
PORTED[6] = 1; // TCP
PORTED[17] = 1; // UDP
PORTED[33] = 1; // DCCP
PORTED[132] = 1; // SCTP
PORTED[136] = 1; // UDP-Lite

/** IPv6 extension headers walked to reach the upper-layer protocol (fragment 44 is handled apart). */
const IPV6_EXTENSION = new Uint8Array(256);
IPV6_EXTENSION[0] = 1; // hop-by-hop options
IPV6_EXTENSION[43] = 1; // routing
IPV6_EXTENSION[60] = 1; // destination options
IPV6_EXTENSION[135] = 1; // mobility
IPV6_EXTENSION[139] = 1; // HIP
IPV6_EXTENSION[140] = 1; // shim6

export class InnerPacket {
  kind = KIND_FLOW;
  /** Outermost inner 802.1Q/802.1ad VID, or -1 when untagged. */
  vlan = -1;
  v: 4 | 6 = 4;
  /** Offsets of the source and destination addresses in the buffer (4 or 16 bytes each). */
  srcAt = 0;
  dstAt = 0;
  proto = 0;
  sport = 0;
  dport = 0;
  /** For KIND_CLASS: the ethertype, or a negative code (see CLASS_*). */
  ethertype = 0;
}

export const CLASS_IPV4_MALFORMED = -1;
export const CLASS_IPV6_MALFORMED = -2;
export const CLASS_OTHER = -3;

export function className(ethertype: number): string {
  if (ethertype === CLASS_IPV4_MALFORMED) return 'ipv4-malformed';
  if (ethertype === CLASS_IPV6_MALFORMED) return 'ipv6-malformed';
  if (ethertype === CLASS_OTHER) return 'other';
  if (ethertype === 0x0806) return 'arp';
  return `ethertype-0x${ethertype.toString(16).padStart(4, '0')}`;
}

function asClass(out: InnerPacket, ethertype: number): void {
  out.kind = KIND_CLASS;
  out.ethertype = ethertype;
}

/** Fills `out` for the packet buf[start, end) of the given link type. */
export function classifyInner(buf: Buffer, start: number, end: number, linktype: number, out: InnerPacket): void {
  out.vlan = -1;
  let at = start;
  let ethertype: number;
  if (linktype === LINKTYPE_ETHERNET) {
    if (end - at < 14) return asClass(out, CLASS_OTHER);
    ethertype = (buf[at + 12]! << 8) | buf[at + 13]!;
    at += 14;
    // 802.1Q, 802.1ad and the old 0x9100 QinQ tag: the outermost VID names the VLAN.
    while (ethertype === 0x8100 || ethertype === 0x88a8 || ethertype === 0x9100) {
      if (end - at < 4) return asClass(out, ethertype);
      if (out.vlan < 0) out.vlan = ((buf[at]! << 8) | buf[at + 1]!) & 0x0fff;
      ethertype = (buf[at + 2]! << 8) | buf[at + 3]!;
      at += 4;
    }
  } else if (linktype === LINKTYPE_RAW || linktype === LINKTYPE_IPV4 || linktype === LINKTYPE_IPV6) {
    if (end <= at) return asClass(out, CLASS_OTHER);
    const version = buf[at]! >> 4;
    ethertype = version === 4 ? 0x0800 : version === 6 ? 0x86dd : -3;
    if (ethertype < 0) return asClass(out, CLASS_OTHER);
  } else {
    return asClass(out, CLASS_OTHER);
  }
  if (ethertype === 0x0800) return ipv4(buf, at, end, out);
  if (ethertype === 0x86dd) return ipv6(buf, at, end, out);
  return asClass(out, ethertype);
}

function ipv4(buf: Buffer, at: number, end: number, out: InnerPacket): void {
  if (end - at < 20 || buf[at]! >> 4 !== 4) return asClass(out, CLASS_IPV4_MALFORMED);
  const ihl = (buf[at]! & 0x0f) * 4;
  if (ihl < 20) return asClass(out, CLASS_IPV4_MALFORMED);
  out.kind = KIND_FLOW;
  out.v = 4;
  out.proto = buf[at + 9]!;
  out.srcAt = at + 12;
  out.dstAt = at + 16;
  const fragmentOffset = ((buf[at + 6]! << 8) | buf[at + 7]!) & 0x1fff;
  ports(buf, fragmentOffset === 0 ? at + ihl : -1, end, out);
}

function ipv6(buf: Buffer, at: number, end: number, out: InnerPacket): void {
  if (end - at < 40 || buf[at]! >> 4 !== 6) return asClass(out, CLASS_IPV6_MALFORMED);
  out.kind = KIND_FLOW;
  out.v = 6;
  out.srcAt = at + 8;
  out.dstAt = at + 24;
  let next = buf[at + 6]!;
  let pos = at + 40;
  let firstFragment = true;
  for (;;) {
    if (IPV6_EXTENSION[next] === 1) {
      if (end - pos < 2) break;
      const following = buf[pos]!;
      pos += (buf[pos + 1]! + 1) * 8;
      next = following;
    } else if (next === 51) {
      // AH: its length is in 4-byte units, minus 2.
      if (end - pos < 2) break;
      const following = buf[pos]!;
      pos += (buf[pos + 1]! + 2) * 4;
      next = following;
    } else if (next === 44) {
      if (end - pos < 8) break;
      const following = buf[pos]!;
      if ((((buf[pos + 2]! << 8) | buf[pos + 3]!) & 0xfff8) !== 0) firstFragment = false;
      pos += 8;
      next = following;
    } else {
      break;
    }
  }
  out.proto = next;
  ports(buf, firstFragment ? pos : -1, end, out);
}

/** Ports at `at` when the protocol has them and the header is there; 0 and 0 otherwise. */
function ports(buf: Buffer, at: number, end: number, out: InnerPacket): void {
  if (at >= 0 && PORTED[out.proto] === 1 && end - at >= 4) {
    out.sport = (buf[at]! << 8) | buf[at + 1]!;
    out.dport = (buf[at + 2]! << 8) | buf[at + 3]!;
  } else {
    out.sport = 0;
    out.dport = 0;
  }
}
