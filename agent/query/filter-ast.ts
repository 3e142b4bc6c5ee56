/**
 * The filter expression after parsing: the subset of tcpdump/libpcap syntax that an archive index
 * can answer. Every primitive carries `shift`, the bytes that earlier `vlan` primitives (in the
 * order they were written) added to the link-layer offsets, exactly as libpcap compiles them.
 */

/** Which address or port of a packet a primitive looks at. */
export type Direction = 'src' | 'dst' | 'src or dst' | 'src and dst';

export type FilterExpr =
  | { op: 'and' | 'or'; left: FilterExpr; right: FilterExpr }
  | { op: 'not'; expr: FilterExpr }
  | HostTest
  | PortTest
  | EtherTypeTest
  | LinkProtoTest
  | ProtoTest
  | VlanTest;

/** `host A` and `net CIDR` (a host is a net with a full mask). */
export interface HostTest {
  op: 'host';
  dir: Direction;
  family: 4 | 6;
  /** Address and mask, 4 or 16 bytes, address already masked. */
  addr: Uint8Array;
  mask: Uint8Array;
  /** `ip host`/`ip net`: IPv4 only. Without it libpcap also tests ARP and RARP sender/target addresses. */
  ipOnly: boolean;
  shift: number;
}

/** `port N`, `portrange N-M`, optionally limited to one transport (`tcp port 80`) or family. */
export interface PortTest {
  op: 'port';
  dir: Direction;
  lo: number;
  hi: number;
  /** IP protocol numbers whose ports are tested (libpcap: TCP, UDP, SCTP). */
  protos: number[];
  families: Array<4 | 6>;
  shift: number;
}

/** `ip` (0x0800) or `ip6` (0x86dd). */
export interface EtherTypeTest {
  op: 'ethertype';
  family: 4 | 6;
  shift: number;
}

/** `arp` (0x0806) or `rarp` (0x8035): an ethertype with no IP header; false on raw IP links. */
export interface LinkProtoTest {
  op: 'linkproto';
  ethertype: number;
  shift: number;
}

/** `tcp`, `udp`, `icmp`, `icmp6`, `ip proto N`, `ip6 proto N`. */
export interface ProtoTest {
  op: 'proto';
  proto: number;
  families: Array<4 | 6>;
  shift: number;
}

/** `vlan` or `vlan N`: a 802.1Q/802.1ad/0x9100 tag at the current offset; shifts what follows by 4. */
export interface VlanTest {
  op: 'vlan';
  id?: number;
  shift: number;
}

export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_SCTP = 132;
export const IPPROTO_ICMP = 1;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_FRAGMENT = 44;
export const PORT_PROTOS = [IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP];
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_RARP = 0x8035;
