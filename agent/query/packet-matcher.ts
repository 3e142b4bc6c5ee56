import { LINKTYPE_ETHERNET, LINKTYPE_IPV4, LINKTYPE_IPV6, LINKTYPE_RAW } from '../pcap/format.js';
import { IPPROTO_FRAGMENT, type Direction, type FilterExpr } from './filter-ast.js';

/**
 * The exact per-packet test: what libpcap's compiled BPF program decides for the same expression
 * on the same link type (the tests check it against tcpdump). Like BPF, a read past the captured
 * bytes rejects the packet outright, whatever the rest of the expression says.
 */
export type PacketMatcher = (data: Buffer, start: number, end: number) => boolean;

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_ARP = 0x0806;
const ETHERTYPE_RARP = 0x8035;
const VLAN_TPIDS = [0x8100, 0x88a8, 0x9100];

class OutOfBounds extends Error {}
const OUT = new OutOfBounds();

/** The packet under test; reads are relative to its first byte and throw past its end (BPF: return 0). */
class Packet {
  buf!: Buffer;
  base = 0;
  len = 0;
  u8(off: number): number {
    if (off + 1 > this.len) throw OUT;
    return this.buf[this.base + off]!;
  }
  u16(off: number): number {
    if (off + 2 > this.len) throw OUT;
    return this.buf.readUInt16BE(this.base + off);
  }
  bytesEqualMasked(off: number, addr: Uint8Array, mask: Uint8Array): boolean {
    // Word by word, as BPF loads them: a mismatch in an earlier word answers before a later word is out of bounds.
    for (let w = 0; w < addr.length; w += 4) {
      if (off + w + 4 > this.len) throw OUT;
      for (let i = w; i < w + 4; i += 1) if ((this.buf[this.base + off + i]! & mask[i]!) !== addr[i]) return false;
    }
    return true;
  }
}

type Test = (p: Packet) => boolean;

interface Link {
  /** The network-layer ethertype as libpcap sees it at this shift (raw links: from the version nibble). */
  etherType(p: Packet, shift: number): number;
  /** Where the network header starts. */
  netOffset(shift: number): number;
  hasVlan: boolean;
  hasArp: boolean;
}

function linkFor(linktype: number): Link {
  switch (linktype) {
    case LINKTYPE_ETHERNET:
      return { etherType: (p, s) => p.u16(12 + s), netOffset: (s) => 14 + s, hasVlan: true, hasArp: true };
    case LINKTYPE_RAW:
      return {
        etherType: (p) => {
          const version = p.u8(0) >> 4;
          return version === 4 ? ETHERTYPE_IPV4 : version === 6 ? ETHERTYPE_IPV6 : -1;
        },
        netOffset: () => 0,
        hasVlan: false,
        hasArp: false,
      };
    case LINKTYPE_IPV4:
      return { etherType: () => ETHERTYPE_IPV4, netOffset: () => 0, hasVlan: false, hasArp: false };
    case LINKTYPE_IPV6:
      return { etherType: () => ETHERTYPE_IPV6, netOffset: () => 0, hasVlan: false, hasArp: false };
    default:
      throw new Error(`filters are not supported on link type ${linktype}`);
  }
}

function byDirection(dir: Direction, src: () => boolean, dst: () => boolean): boolean {
  switch (dir) {
    case 'src':
      return src();
    case 'dst':
      return dst();
    case 'src or dst':
      return src() || dst();
    case 'src and dst':
      return src() && dst();
  }
}

function compile(expr: FilterExpr, link: Link): Test {
  switch (expr.op) {
    case 'and': {
      const a = compile(expr.left, link);
      const b = compile(expr.right, link);
      return (p) => a(p) && b(p);
    }
    case 'or': {
      const a = compile(expr.left, link);
      const b = compile(expr.right, link);
      return (p) => a(p) || b(p);
    }
    case 'not': {
      const a = compile(expr.expr, link);
      return (p) => !a(p);
    }
    case 'vlan': {
      const { shift, id } = expr;
      if (!link.hasVlan) return () => false; // tcpdump refuses `vlan` on raw IP links
      return (p) => VLAN_TPIDS.includes(p.u16(12 + shift)) && (id === undefined || (p.u16(14 + shift) & 0x0fff) === id);
    }
    case 'ethertype': {
      if (!link.hasVlan && expr.shift > 0) return () => false;
      const want = expr.family === 4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6;
      const shift = expr.shift;
      return (p) => link.etherType(p, shift) === want;
    }
    case 'linkproto': {
      if (!link.hasArp) return () => false;
      const { ethertype, shift } = expr;
      return (p) => link.etherType(p, shift) === ethertype;
    }
    case 'proto': {
      if (!link.hasVlan && expr.shift > 0) return () => false;
      const { proto, shift } = expr;
      const net = link.netOffset(shift);
      const v4 = expr.families.includes(4);
      const v6 = expr.families.includes(6);
      return (p) => {
        const type = link.etherType(p, shift);
        if (v4 && type === ETHERTYPE_IPV4) return p.u8(net + 9) === proto;
        if (v6 && type === ETHERTYPE_IPV6) {
          const next = p.u8(net + 6);
          // libpcap looks through one IPv6 fragment header, and no other extension header.
          return next === proto || (next === IPPROTO_FRAGMENT && p.u8(net + 40) === proto);
        }
        return false;
      };
    }
    case 'port': {
      if (!link.hasVlan && expr.shift > 0) return () => false;
      const { lo, hi, protos, dir, shift } = expr;
      const net = link.netOffset(shift);
      const v4 = expr.families.includes(4);
      const v6 = expr.families.includes(6);
      const inRange = (port: number) => port >= lo && port <= hi;
      return (p) => {
        const type = link.etherType(p, shift);
        if (v6 && type === ETHERTYPE_IPV6) {
          if (!protos.includes(p.u8(net + 6))) return false;
          return byDirection(dir, () => inRange(p.u16(net + 40)), () => inRange(p.u16(net + 42)));
        }
        if (v4 && type === ETHERTYPE_IPV4) {
          if (!protos.includes(p.u8(net + 9))) return false;
          if ((p.u16(net + 6) & 0x1fff) !== 0) return false; // not the first fragment: no ports
          const l4 = net + (p.u8(net) & 0x0f) * 4;
          return byDirection(dir, () => inRange(p.u16(l4)), () => inRange(p.u16(l4 + 2)));
        }
        return false;
      };
    }
    case 'host': {
      if (!link.hasVlan && expr.shift > 0) return () => false;
      const { addr, mask, dir, shift } = expr;
      const net = link.netOffset(shift);
      if (expr.family === 6) {
        return (p) =>
          link.etherType(p, shift) === ETHERTYPE_IPV6 &&
          byDirection(dir, () => p.bytesEqualMasked(net + 8, addr, mask), () => p.bytesEqualMasked(net + 24, addr, mask));
      }
      const arp = link.hasArp && !expr.ipOnly;
      return (p) => {
        const type = link.etherType(p, shift);
        if (type === ETHERTYPE_IPV4) {
          return byDirection(dir, () => p.bytesEqualMasked(net + 12, addr, mask), () => p.bytesEqualMasked(net + 16, addr, mask));
        }
        if (arp && (type === ETHERTYPE_ARP || type === ETHERTYPE_RARP)) {
          // ARP for IPv4 over Ethernet: sender protocol address at 14, target at 24.
          return byDirection(dir, () => p.bytesEqualMasked(net + 14, addr, mask), () => p.bytesEqualMasked(net + 24, addr, mask));
        }
        return false;
      };
    }
  }
}

/** A matcher for packets of this link type; no expression matches everything. */
export function packetMatcher(expr: FilterExpr | undefined, linktype: number): PacketMatcher {
  if (!expr) return () => true;
  const test = compile(expr, linkFor(linktype));
  const packet = new Packet();
  return (data, start, end) => {
    packet.buf = data;
    packet.base = start;
    packet.len = end - start;
    try {
      return test(packet);
    } catch (error) {
      if (error === OUT) return false;
      throw error;
    }
  };
}
