import { LINKTYPE_ETHERNET } from '../pcap/format.js';
import { IPPROTO_FRAGMENT, type Direction, type FilterExpr } from './filter-ast.js';
import { addressBytes } from './filter-parser.js';
import type { ClassEntry, FlowEntry, FrameSummary } from './index-reader.js';

/**
 * The conservative test on what an index knows (a flow line, a class line, a frame summary): it
 * may answer "maybe" but never "no" for packets that the exact matcher would keep. Kleene logic:
 * F < M < T, and = min, or = max, not = T - x. Reads that libpcap would make beyond what the index
 * records (a second VLAN tag, IPv6 extension headers) answer M.
 */
export const F = 0;
export const M = 1;
export const T = 2;
export type Tri = 0 | 1 | 2;

const IPV6_EXTENSION_HEADERS = new Set([0, 43, 44, 50, 51, 60, 135, 139, 140, 253, 254]);
const ETHERTYPE_ARP = 0x0806;
const ETHERTYPE_RARP = 0x8035;

/** What one kind of index entry can say about each primitive. */
interface Subject {
  vlan(shift: number, id: number | undefined): Tri;
  /** The primitive's answer if the network layer is at `shift`, combined with where it really is. */
  network(shift: number, test: (layer: NetworkView) => Tri): Tri;
}

/** The network-layer facts of an index entry, all packets of it alike. */
interface NetworkView {
  ether(family: 4 | 6): Tri;
  /** `arp`/`rarp`: a non-IP ethertype. */
  link(ethertype: number): Tri;
  proto(families: Array<4 | 6>, proto: number): Tri;
  port(families: Array<4 | 6>, protos: number[], lo: number, hi: number, dir: Direction): Tri;
  host(family: 4 | 6, addr: Uint8Array, mask: Uint8Array, dir: Direction, ipOnly: boolean): Tri;
}

function evaluate(expr: FilterExpr, subject: Subject): Tri {
  switch (expr.op) {
    case 'and':
      return Math.min(evaluate(expr.left, subject), evaluate(expr.right, subject)) as Tri;
    case 'or':
      return Math.max(evaluate(expr.left, subject), evaluate(expr.right, subject)) as Tri;
    case 'not':
      return (T - evaluate(expr.expr, subject)) as Tri;
    case 'vlan':
      return subject.vlan(expr.shift, expr.id);
    case 'ethertype':
      return subject.network(expr.shift, (n) => n.ether(expr.family));
    case 'linkproto':
      return subject.network(expr.shift, (n) => n.link(expr.ethertype));
    case 'proto':
      return subject.network(expr.shift, (n) => n.proto(expr.families, expr.proto));
    case 'port':
      return subject.network(expr.shift, (n) => n.port(expr.families, expr.protos, expr.lo, expr.hi, expr.dir));
    case 'host':
      return subject.network(expr.shift, (n) => n.host(expr.family, expr.addr, expr.mask, expr.dir, expr.ipOnly));
  }
}

const tri = (b: boolean): Tri => (b ? T : F);

function byDirection(dir: Direction, src: boolean, dst: boolean): boolean {
  return dir === 'src' ? src : dir === 'dst' ? dst : dir === 'src or dst' ? src || dst : src && dst;
}

function maskedEqual(bytes: Uint8Array | undefined, addr: Uint8Array, mask: Uint8Array): boolean {
  if (!bytes || bytes.length !== addr.length) return false;
  for (let i = 0; i < addr.length; i += 1) if ((bytes[i]! & mask[i]!) !== addr[i]) return false;
  return true;
}

/** Where a single-tag-or-untagged entry's network layer is, for entries that record the outermost tag. */
function taggedSubject(linktype: number, vlan: number | undefined, view: NetworkView): Subject {
  const ethernet = linktype === LINKTYPE_ETHERNET;
  return {
    vlan(shift, id) {
      if (!ethernet) return F;
      if (shift === 0) return vlan === undefined ? F : tri(id === undefined || id === vlan);
      return M; // a second tag, or bytes of the network header: the index does not know
    },
    network(shift, test) {
      if (!ethernet) return shift === 0 ? test(view) : F;
      if (vlan === undefined) return shift === 0 ? test(view) : M;
      if (shift === 0) return F; // the ethertype there is the tag's TPID
      if (shift === 4) return test(view) === F ? F : M; // one tag: the answer; two tags: F
      return M;
    },
  };
}

/**
 * Flow addresses as bytes, remembered: a day's indexes repeat the same hosts in every object, and
 * parsing each address text again was 8% of a 24-hour fetch's CPU. Bounded; the arrays are shared
 * and only read.
 */
const flowAddresses = new Map<string, Uint8Array | undefined>();
const FLOW_ADDRESSES_KEPT = 4096;

function flowAddress(text: string): Uint8Array | undefined {
  if (flowAddresses.has(text)) return flowAddresses.get(text);
  if (flowAddresses.size >= FLOW_ADDRESSES_KEPT) flowAddresses.clear();
  const bytes = addressBytes(text);
  flowAddresses.set(text, bytes);
  return bytes;
}

/** A flow line: every packet has this version, addresses, protocol, ports and outer tag. */
export function flowMayMatch(expr: FilterExpr | undefined, linktype: number, flow: FlowEntry): Tri {
  if (!expr) return T;
  const src = flowAddress(flow.src);
  const dst = flowAddress(flow.dst);
  const view: NetworkView = {
    ether: (family) => tri(flow.v === family),
    link: () => F, // a flow line is IPv4 or IPv6
    proto(families, proto) {
      if (!families.includes(flow.v)) return F;
      if (flow.v === 4) return tri(flow.proto === proto);
      // libpcap reads the first next-header (or the one after a fragment header); the index has the transport.
      if (IPV6_EXTENSION_HEADERS.has(proto) || proto === IPPROTO_FRAGMENT) return M;
      return flow.proto === proto ? M : F;
    },
    port(families, protos, lo, hi, dir) {
      if (!families.includes(flow.v) || !protos.includes(flow.proto)) return F;
      const inRange = (p: number) => p >= lo && p <= hi;
      // Ports 0: a non-first fragment (no ports for libpcap) or a real port 0.
      if (flow.sport === 0 && flow.dport === 0) return inRange(0) ? M : F;
      const hit = byDirection(dir, inRange(flow.sport), inRange(flow.dport));
      if (flow.v === 6) return hit ? M : F; // extension headers before the transport hide the ports from libpcap
      return tri(hit);
    },
    host(family, addr, mask, dir) {
      if (family !== flow.v) return F;
      return tri(byDirection(dir, maskedEqual(src, addr, mask), maskedEqual(dst, addr, mask)));
    },
  };
  return evaluate(expr, taggedSubject(linktype, flow.vlan, view));
}

const ALL_MAYBE: NetworkView = { ether: () => M, link: () => M, proto: () => M, port: () => M, host: () => M };

/** The ethertype an index class names ("arp", "ethertype-0x8035"), if it names one. */
function classEthertype(name: string): number | undefined {
  if (name === 'arp') return ETHERTYPE_ARP;
  const hex = /^ethertype-0x([0-9a-f]{1,4})$/i.exec(name)?.[1];
  return hex === undefined ? undefined : parseInt(hex, 16);
}

/** A class line: non-IP (or unparseable IP) packets, known by ethertype at best. */
export function classMayMatch(expr: FilterExpr | undefined, linktype: number, entry: ClassEntry): Tri {
  if (!expr) return T;
  const type = classEthertype(entry.class);
  let view: NetworkView;
  if (entry.class === 'ipv4-malformed') {
    view = { ...ALL_MAYBE, ether: (family) => tri(family === 4), link: () => F };
  } else if (type === undefined) {
    view = ALL_MAYBE;
  } else {
    if (type === 0x0800 || type === 0x86dd) {
      view = ALL_MAYBE;
    } else {
      view = {
        ether: () => F,
        link: (ethertype) => tri(linktype === LINKTYPE_ETHERNET && ethertype === type),
        proto: () => F,
        port: () => F,
        host: (family, _addr, _mask, _dir, ipOnly) => (family === 4 && !ipOnly && (type === ETHERTYPE_ARP || type === ETHERTYPE_RARP) ? M : F),
      };
    }
  }
  return evaluate(expr, taggedSubject(linktype, entry.vlan, view));
}

interface Cidr {
  addr: Uint8Array;
  bits: number;
}

function parseCidr(text: string): Cidr | undefined {
  const [base, bits] = text.split('/');
  const addr = base ? addressBytes(base) : undefined;
  if (!addr) return undefined;
  return { addr, bits: bits === undefined ? addr.length * 8 : Number(bits) };
}

function maskBits(mask: Uint8Array): number {
  let bits = 0;
  for (const byte of mask) bits += byte.toString(2).replace(/0/g, '').length;
  return bits;
}

/** Two prefixes overlap when they agree on the shorter one's bits. */
function overlaps(a: Cidr, addr: Uint8Array, bits: number): boolean {
  if (a.addr.length !== addr.length) return false;
  const common = Math.min(a.bits, bits);
  for (let bit = 0; bit < common; bit += 1) {
    const byte = bit >> 3;
    const m = 0x80 >> (bit & 7);
    if ((a.addr[byte]! & m) !== (addr[byte]! & m)) return false;
  }
  return true;
}

/** A frame summary (indexes with too many flows): sets that cover the frame's packets; answers are M or F. */
export function summaryMayMatch(expr: FilterExpr | undefined, linktype: number, summary: FrameSummary): Tri {
  if (!expr) return T;
  const ethernet = linktype === LINKTYPE_ETHERNET;
  const v4 = summary.v4.map(parseCidr);
  const v6 = summary.v6.map(parseCidr);
  // A CIDR we cannot read covers anything.
  const unknownSet = v4.some((c) => !c) || v6.some((c) => !c) || summary.classes.some((c) => c === 'other' || c === 'ipv4-malformed');
  const hasArp = summary.classes.some((c) => c === 'arp' || /^ethertype-0x8035$/i.test(c));
  const ethertypes = new Set(summary.classes.map(classEthertype));
  const families = (fs: Array<4 | 6>) => (fs.includes(4) && v4.length > 0) || (fs.includes(6) && v6.length > 0);
  const maybe = (b: boolean): Tri => (b || unknownSet ? M : F);
  const view: NetworkView = {
    ether: (family) => maybe(families([family])),
    link: (ethertype) => maybe(ethernet && ethertypes.has(ethertype)),
    proto: (fs, proto) =>
      maybe(families(fs) && (summary.protos.includes(proto) || (fs.includes(6) && v6.length > 0 && IPV6_EXTENSION_HEADERS.has(proto)))),
    port: (fs, protos, lo, hi) =>
      maybe(families(fs) && protos.some((p) => summary.protos.includes(p)) && summary.ports.some(([a, b]) => a <= hi && b >= lo)),
    host(family, addr, mask, _dir, ipOnly) {
      const bits = maskBits(mask);
      const set = family === 4 ? v4 : v6;
      return maybe(set.some((c) => c !== undefined && overlaps(c, addr, bits)) || (family === 4 && !ipOnly && ethernet && hasArp));
    },
  };
  const subject: Subject = {
    vlan(shift, id) {
      if (!ethernet) return F;
      if (shift === 0) return summary.vlans.length > 0 && (id === undefined || summary.vlans.includes(id)) ? M : F;
      return M;
    },
    network(shift, test) {
      if (!ethernet) return shift === 0 ? test(view) : F;
      if (shift === 0) return summary.untagged ? (test(view) === F ? F : M) : F;
      return M;
    },
  };
  return evaluate(expr, subject);
}
