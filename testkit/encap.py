#!/usr/bin/python3
"""Wraps every frame of a capture in an encapsulation built by scapy (Debian's python3-scapy),
for the cases this kernel cannot make itself (GENEVE, GRE, GRETAP, ERSPAN II/III, ip6gretap,
VXLAN with reserved flag bits) and for VTAP-style truncation.

Writes OUT (the outer capture, each packet with its inner frame's timestamp) and EXPECTED
(what a correct decapsulator must produce: the inner frames, L2-stripped for layer-3 GRE,
truncated inner frames keeping their original length as orig_len).

usage: encap.py IN OUT EXPECTED KIND ID [--ipv6] [--vlan N] [--vxlan-flags N]
                [--geneve-options N] [--truncate N] [--platform-header] [--erspan-ip]
KIND: vxlan | geneve | gretap | gre | erspan2 | erspan3
"""
import argparse
import zlib

from scapy.contrib.erspan import ERSPAN_II, ERSPAN_III, ERSPAN_PlatformSpecific
from scapy.contrib.geneve import GENEVE, GeneveOptions
from scapy.layers.inet import GRE, IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Dot1Q, Ether
from scapy.layers.vxlan import VXLAN
from scapy.packet import Raw
from scapy.utils import PcapWriter, RawPcapReader


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("inp")
    ap.add_argument("out")
    ap.add_argument("expected")
    ap.add_argument("kind", choices=["vxlan", "geneve", "gretap", "gre", "erspan2", "erspan3"])
    ap.add_argument("id", type=int)
    ap.add_argument("--ipv6", action="store_true")
    ap.add_argument("--vlan", type=int)
    ap.add_argument("--vxlan-flags", type=lambda s: int(s, 0), default=0x08)
    ap.add_argument("--geneve-options", type=int, default=0, help="number of 8-byte GENEVE options")
    ap.add_argument("--truncate", type=int, help="cut each inner frame to this many bytes")
    ap.add_argument("--platform-header", action="store_true", help="ERSPAN III with the O flag and sub-header")
    ap.add_argument("--erspan-ip", action="store_true", help="ERSPAN III frame type 2: the IP packet without Ethernet")
    a = ap.parse_args()

    reader = RawPcapReader(a.inp)
    nano = bool(getattr(reader, "nano", False))
    out = PcapWriter(a.out, nano=True, linktype=1, sync=False)
    layer3 = a.kind == "gre" or a.erspan_ip
    expected = PcapWriter(a.expected, nano=True, linktype=101 if layer3 else 1, sync=False)
    # write_packet() with bytes does not write the file header by itself.
    out.write_header(None)
    expected.write_header(None)
    for index, (data, meta) in enumerate(reader):
        sec = meta.sec
        nsec = meta.usec if nano else meta.usec * 1000
        wirelen = meta.wirelen
        inner = bytes(data)
        if layer3:
            # Layer-3 GRE (and ERSPAN III frame type 2) carry the IP packet without its Ethernet header.
            inner, wirelen = inner[14:], wirelen - 14
        if a.truncate is not None and len(inner) > a.truncate:
            inner = inner[: a.truncate]
        outer = encapsulate(a, index, inner)
        out.write_packet(outer, sec=sec, usec=nsec, caplen=len(outer), wirelen=len(outer))
        expected.write_packet(inner, sec=sec, usec=nsec, caplen=len(inner), wirelen=wirelen)
    out.close()
    expected.close()


def encapsulate(a, index, inner):
    l2 = Ether(src="02:00:00:00:00:0a", dst="02:00:00:00:00:01")
    if a.vlan is not None:
        l2 = l2 / Dot1Q(vlan=a.vlan)
    ip = IPv6(src="fd99::10", dst="fd99::1", hlim=64) if a.ipv6 else IP(src="10.99.0.10", dst="10.99.0.1", ttl=64, id=index & 0xFFFF)
    # Like OCI and the kernel: the outer UDP source port follows the inner flow (entropy).
    sport = 49152 + zlib.crc32(inner[12:38]) % 16384
    if a.kind == "vxlan" and a.vxlan_flags != 0x08:
        # scapy's VXLAN class reads G/P flags as GBP/GPE layouts; RFC 7348 says every bit but I is
        # reserved and ignored, so write the plain 8-byte header with reserved bits and bytes set.
        header = bytes([a.vxlan_flags, 0xAB, 0xCD, 0xEF]) + a.id.to_bytes(3, "big") + bytes([0x5A])
        tunnel = UDP(sport=sport, dport=4789) / Raw(header)
    elif a.kind == "vxlan":
        tunnel = UDP(sport=sport, dport=4789) / VXLAN(flags=0x08, vni=a.id)
    elif a.kind == "geneve":
        options = [GeneveOptions(classid=0x0102, type=0x80 | i, data=bytes([i]) * 4) for i in range(a.geneve_options)]
        tunnel = UDP(sport=sport, dport=6081) / GENEVE(vni=a.id, proto=0x6558, options=options)
    elif a.kind == "gretap":
        tunnel = GRE(key_present=1, key=a.id, proto=0x6558)
    elif a.kind == "gre":
        tunnel = GRE(key_present=1, key=a.id, proto=0x86DD if (inner[0] >> 4) == 6 else 0x0800)
    elif a.kind == "erspan2":
        # Linux erspan_ver 1 = ERSPAN type II: GRE with a sequence number, header version 1.
        tunnel = GRE(seqnum_present=1, sequence_number=index, proto=0x88BE) / ERSPAN_II(ver=1, session_id=a.id, index=7)
    else:
        # Linux erspan_ver 2 = ERSPAN type III: header version 2, frame type 0 (Ethernet).
        tunnel = GRE(seqnum_present=1, sequence_number=index, proto=0x22EB) / ERSPAN_III(
            ver=2, session_id=a.id, timestamp=index * 1000, ft=2 if a.erspan_ip else 0, hw=5, d=1, gra=1, o=1 if a.platform_header else 0
        )
        if a.platform_header:
            tunnel = tunnel / ERSPAN_PlatformSpecific(platf_id=3, info1=1, info2=2)
    return bytes(l2 / ip / tunnel / Raw(inner))


if __name__ == "__main__":
    main()
