import { LINKTYPE_ETHERNET } from '../pcap/format.js';
import type { DecapResult } from './result.js';

const VXLAN_HEADER_LENGTH = 8;
const FLAG_VNI_VALID = 0x08;

/**
 * VXLAN (RFC 7348) inside a UDP payload starting at `offset`. The I flag must be set; every other
 * flag and reserved bit is ignored on receipt, as the RFC says. The payload is an Ethernet frame.
 */
export function decapVxlan(buf: Buffer, offset: number, end: number, result: DecapResult): boolean {
  if (offset + VXLAN_HEADER_LENGTH + 14 > end) return false;
  if ((buf[offset]! & FLAG_VNI_VALID) === 0) return false;
  result.id = buf.readUIntBE(offset + 4, 3);
  result.innerStart = offset + VXLAN_HEADER_LENGTH;
  result.innerLinktype = LINKTYPE_ETHERNET;
  return true;
}
