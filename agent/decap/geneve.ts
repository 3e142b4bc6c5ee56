import { LINKTYPE_ETHERNET, LINKTYPE_RAW } from '../pcap/format.js';
import type { DecapResult } from './result.js';

const GENEVE_BASE_LENGTH = 8;

/**
 * GENEVE (RFC 8926) inside a UDP payload: version 0 only; variable-length options are skipped.
 * The protocol type says whether the payload is an Ethernet frame (0x6558) or bare IP.
 */
export function decapGeneve(buf: Buffer, offset: number, end: number, result: DecapResult): boolean {
  if (offset + GENEVE_BASE_LENGTH > end) return false;
  const first = buf[offset]!;
  if (first >> 6 !== 0) return false;
  const headerLength = GENEVE_BASE_LENGTH + (first & 0x3f) * 4;
  const protocol = buf.readUInt16BE(offset + 2);
  let linktype: number;
  if (protocol === 0x6558) linktype = LINKTYPE_ETHERNET;
  else if (protocol === 0x0800 || protocol === 0x86dd) linktype = LINKTYPE_RAW;
  else return false;
  if (offset + headerLength >= end) return false;
  result.id = buf.readUIntBE(offset + 4, 3);
  result.innerStart = offset + headerLength;
  result.innerLinktype = linktype;
  return true;
}
