/**
 * Inner (already decapsulated) traffic for the query tests, made by Debian's scapy: IPv4 and IPv6
 * TCP/UDP/SCTP/ICMP, fragments, IPv6 extension headers, 802.1Q and QinQ tags, ARP, LLDP. One pcap
 * per source, nanosecond timestamps, each strictly increasing and unique across all sources.
 */
import { scapy } from './scapy.js';

export const HOST_A = '10.0.3.7';
export const HOST_B = '203.0.113.9';
export const HOST_V6 = 'fd00::7';

export interface TrafficOptions {
  /** pcap path per source, in source order. */
  paths: string[];
  /** First packet time, epoch seconds. */
  startSec: number;
  /** Packets per source. */
  count: number;
  /** Seconds between a source's consecutive packets. */
  stepSec: number;
  /** 1 Ethernet (default), 101 raw, 228 raw IPv4. */
  linktype?: number;
  seed?: number;
  /**
   * Draw every packet from this many pre-made frames (so flows repeat, as real traffic's do) and
   * append 0..`trailer` random bytes after each (an Ethernet trailer: filters ignore it, compression
   * cannot). Without it nearly every packet is a flow of its own.
   */
  pool?: number;
  trailer?: number;
}

/** Writes the pcaps; returns nothing (read them with tshark/tcpdump). */
export async function writeQueryTraffic(options: TrafficOptions): Promise<void> {
  await scapy(`
import random
from scapy.layers.inet6 import IPv6ExtHdrHopByHop, IPv6ExtHdrFragment, IPv6ExtHdrDestOpt, ICMPv6EchoRequest, ICMPv6MLQuery
from scapy.layers.sctp import SCTP
from decimal import Decimal
random.seed(${options.seed ?? 7})
paths = ${JSON.stringify(options.paths)}
linktype = ${options.linktype ?? 1}
A, B, V6 = "${HOST_A}", "${HOST_B}", "${HOST_V6}"
v4hosts = [A, B, "10.1.0.5", "10.1.2.3", "192.0.2.44", "10.0.3.8"]
v6hosts = [V6, "fd00::8", "2001:db8::1", "2001:db8:0:1::99"]
ports = [443, 80, 53, 8080, 22, 40000, 51514, 1023]
def ip4():
    s, d = random.sample(v4hosts, 2)
    return IP(src=s, dst=d)
def ip6():
    s, d = random.sample(v6hosts, 2)
    return IPv6(src=s, dst=d)
def l4(kind):
    sp, dp = random.choice(ports), random.choice(ports)
    if kind == 0: return TCP(sport=sp, dport=dp, flags="A")/Raw(b"t" * random.randint(0, 60))
    if kind == 1: return UDP(sport=sp, dport=dp)/Raw(b"u" * random.randint(0, 60))
    return SCTP(sport=sp, dport=dp)
def network():
    r = random.random()
    if r < 0.45: return ip4()/l4(random.choice([0, 0, 1, 1, 2]))
    if r < 0.55: return ip4()/ICMP(type=random.choice([0, 8, 3]))/Raw(b"i" * 8)
    if r < 0.62:
        # IPv4 fragments: the first carries the ports, the next does not.
        frags = fragment(ip4()/UDP(sport=random.choice(ports), dport=random.choice(ports))/Raw(b"f" * 200), fragsize=64)
        return random.choice(frags[:2])
    if r < 0.82: return ip6()/l4(random.choice([0, 1, 2]))
    if r < 0.88: return ip6()/ICMPv6EchoRequest()
    if r < 0.91: return IPv6(src=random.choice(v6hosts), dst="ff02::1")/IPv6ExtHdrHopByHop()/ICMPv6MLQuery()
    if r < 0.94: return ip6()/IPv6ExtHdrFragment(offset=0, m=1, nh=6)/TCP(sport=random.choice(ports), dport=random.choice(ports))
    if r < 0.97: return ip6()/IPv6ExtHdrDestOpt()/UDP(sport=random.choice(ports), dport=random.choice(ports))
    return None
def eth(**kw):
    # Explicit addresses: without them scapy would try to resolve the destination (ARP) itself.
    return Ether(src="02:00:00:00:00:0a", dst="02:00:00:00:00:0b", **kw)
def frame():
    if linktype != 1:
        n = network()
        while n is None: n = network()
        return n
    r = random.random()
    # ARP, and a quarter as much RARP (same draws, so the rest of the traffic stays as it was).
    if r < 0.04: return Ether(src="02:00:00:00:00:01", dst="ff:ff:ff:ff:ff:ff", type=0x0806 if r < 0.03 else 0x8035)/ARP(op=1 if r < 0.03 else 3, psrc=random.choice(v4hosts), pdst=random.choice(v4hosts))
    if r < 0.06: return Ether(src="02:00:00:00:00:0a", dst="01:80:c2:00:00:0e", type=0x88cc)/Raw(b"\\x02\\x07\\x04" + b"l" * 20)
    n = network()
    if n is None: n = ip4()/l4(0)
    if r < 0.18: return eth()/Dot1Q(vlan=random.choice([100, 200]))/n
    if r < 0.21: return eth(type=0x88a8)/Dot1Q(vlan=300, type=0x8100)/Dot1Q(vlan=random.choice([100, 200]))/n
    return eth()/n
POOL, TRAILER = ${options.pool ?? 0}, ${options.trailer ?? 0}
pool = [frame() for _ in range(POOL)]
def pooled():
    q = random.choice(pool)
    return q.__class__(bytes(q) + random.randbytes(random.randint(0, TRAILER)))
for si, path in enumerate(paths):
    pkts = []
    for i in range(${options.count}):
        p = pooled() if POOL else frame()
        # Unique times across sources: source si owns the nanosecond digit si.
        p.time = Decimal(${options.startSec}) + Decimal(i) * Decimal("${options.stepSec}") + Decimal(random.randint(0, 999)) / Decimal(10**6) + Decimal(si + 1) / Decimal(10**9)
        pkts.append(p)
    wrpcap(path, pkts, nano=True, linktype=linktype)
`);
}

/** Filter expressions for the oracle tests: every primitive, qualifiers, combinations, libpcap quirks. */
export const ORACLE_EXPRESSIONS = [
  `host ${HOST_A}`,
  `src host ${HOST_A}`,
  `dst host ${HOST_B}`,
  `host ${HOST_A} and host ${HOST_B}`,
  `src ${HOST_A} and dst ${HOST_B}`,
  `src and dst net 10.0.0.0/8`,
  `src or dst host ${HOST_A}`,
  `ip host ${HOST_A}`,
  `net 10.1.0.0/16`,
  `net 10.1`,
  `dst net 192.0.2.0/24`,
  `host ${HOST_V6}`,
  `net 2001:db8::/32`,
  `src net fd00::/16 and udp`,
  `port 443`,
  `src port 53`,
  `dst port 8080 or dst port 22`,
  `tcp port 80 or 443`,
  `udp dst port 53`,
  `portrange 1000-9000`,
  `src portrange 40000-60000`,
  `tcp`,
  `udp`,
  `sctp`,
  `icmp`,
  `icmp6`,
  `ip`,
  `ip6`,
  `ip proto 17`,
  `ip6 proto 0`,
  `ip6 proto 6`,
  `vlan`,
  `vlan 100`,
  `vlan 100 and host ${HOST_A}`,
  `vlan and port 443`,
  `vlan 300 and vlan 100`,
  `vlan or host ${HOST_A}`,
  `not ip and not ip6`,
  `not tcp`,
  `! (host ${HOST_A} || host ${HOST_V6})`,
  `(tcp or udp) and not port 53`,
  `tcp or udp and port 80`,
  `host ${HOST_A} and (port 443 or icmp)`,
  `ip6 and not icmp6`,
  `not vlan`,
  `port 443 and not 80`,
];
