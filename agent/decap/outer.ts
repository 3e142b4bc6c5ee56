import { skipVlanTags } from '../packet/ethernet.js';
import { LINKTYPE_ETHERNET, LINKTYPE_IPV4, LINKTYPE_IPV6, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, LINKTYPE_RAW } from '../pcap/format.js';

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;

/** Where the outer layers put the tunnel: filled by parseOuter, reused per packet. */
export class OuterHeaders {
  /** IP protocol of the transport header (17 UDP, 47 GRE). */
  protocol = 0;
  /** Start of the transport header and end of the IP payload (IP length, or the capture end). */
  l4Start = 0;
  l4End = 0;
  srcOffset = 0;
  srcLength = 0;
}

/** Offset of the outer IP header for the capture's link type, or -1 when it is not IP. */
function ipStart(buf: Buffer, start: number, end: number, linktype: number): number {
  let typeOffset: number;
  switch (linktype) {
    case LINKTYPE_ETHERNET:
      typeOffset = skipVlanTags(buf, start + 12, end);
      break;
    case LINKTYPE_LINUX_SLL:
      typeOffset = skipVlanTags(buf, start + 14, end);
      break;
    case LINKTYPE_LINUX_SLL2:
      typeOffset = start;
      if (start + 20 > end) return -1;
      return isIpEthertype(buf.readUInt16BE(typeOffset)) ? start + 20 : -1;
    case LINKTYPE_RAW:
    case LINKTYPE_IPV4:
    case LINKTYPE_IPV6:
      return start;
    default:
      return -1;
  }
  if (typeOffset < 0) return -1;
  return isIpEthertype(buf.readUInt16BE(typeOffset)) ? typeOffset + 2 : -1;
}

function isIpEthertype(type: number): boolean {
  return type === ETHERTYPE_IPV4 || type === ETHERTYPE_IPV6;
}

/**
 * Parses link layer and IPv4/IPv6 (with extension headers) down to the transport header.
 * Returns false for anything that cannot carry a tunnel we decode: non-IP, fragments (only the
 * first fragment has the tunnel header and it would be incomplete), truncated headers.
 */
export function parseOuter(buf: Buffer, start: number, end: number, linktype: number, out: OuterHeaders): boolean {
  const ip = ipStart(buf, start, end, linktype);
  if (ip < 0 || ip + 20 > end) return false;
  const version = buf[ip]! >> 4;
  if (version === 4) {
    const headerLength = (buf[ip]! & 0x0f) * 4;
    if (headerLength < 20 || ip + headerLength > end) return false;
    const fragment = buf.readUInt16BE(ip + 6);
    if ((fragment & 0x3fff) !== 0) return false; // MF set or non-zero offset
    const total = buf.readUInt16BE(ip + 2);
    out.protocol = buf[ip + 9]!;
    out.l4Start = ip + headerLength;
    out.l4End = total >= headerLength && ip + total < end ? ip + total : end;
    out.srcOffset = ip + 12;
    out.srcLength = 4;
    return true;
  }
  if (version === 6) {
    if (ip + 40 > end) return false;
    const payload = buf.readUInt16BE(ip + 4);
    let next = buf[ip + 6]!;
    let offset = ip + 40;
    // Hop-by-hop, routing, destination options and AH may stand before the transport header.
    while (next === 0 || next === 43 || next === 60 || next === 51) {
      if (offset + 8 > end) return false;
      const length = next === 51 ? (buf[offset + 1]! + 2) * 4 : (buf[offset + 1]! + 1) * 8;
      next = buf[offset]!;
      offset += length;
    }
    if (next === 44 || offset > end) return false;
    out.protocol = next;
    out.l4Start = offset;
    out.l4End = payload > 0 && ip + 40 + payload < end ? ip + 40 + payload : end;
    out.srcOffset = ip + 8;
    out.srcLength = 16;
    return true;
  }
  return false;
}
