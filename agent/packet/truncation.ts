import { LINKTYPE_ETHERNET, LINKTYPE_RAW } from '../pcap/format.js';
import { skipVlanTags } from './ethernet.js';

/**
 * The length a frame really had on the wire, read from its IP header: L2 header + IPv4 total
 * length or IPv6 40 + payload length. VTAP truncation (max_packet_size) cuts the mirrored packet
 * without updating the inner IP header, so this is what orig_len must say for Wireshark's TCP
 * analysis to stop reporting lost segments. Returns -1 when the frame is not IP or too short to tell.
 */
export function lengthFromIpHeader(buf: Buffer, start: number, end: number, linktype: number): number {
  let ip: number;
  if (linktype === LINKTYPE_ETHERNET) {
    const typeOffset = skipVlanTags(buf, start + 12, end);
    if (typeOffset < 0) return -1;
    const type = buf.readUInt16BE(typeOffset);
    if (type !== 0x0800 && type !== 0x86dd) return -1;
    ip = typeOffset + 2;
  } else if (linktype === LINKTYPE_RAW) {
    ip = start;
  } else {
    return -1;
  }
  if (ip + 1 > end) return -1;
  const version = buf[ip]! >> 4;
  if (version === 4) {
    if (ip + 4 > end) return -1;
    return ip - start + buf.readUInt16BE(ip + 2);
  }
  if (version === 6) {
    if (ip + 6 > end) return -1;
    const payload = buf.readUInt16BE(ip + 4);
    // A zero payload length means a jumbogram whose length lives in an option: leave it alone.
    return payload === 0 ? -1 : ip - start + 40 + payload;
  }
  return -1;
}
