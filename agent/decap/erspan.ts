import { LINKTYPE_ETHERNET, LINKTYPE_RAW } from '../pcap/format.js';
import { GRE_PROTO_ERSPAN_II, GRE_PROTO_ERSPAN_III, type GreHeader } from './gre.js';
import type { DecapResult } from './result.js';

const ERSPAN_II_LENGTH = 8;
const ERSPAN_III_LENGTH = 12;
const ERSPAN_III_PLATFORM_LENGTH = 8;

/**
 * ERSPAN inside GRE. Type II (protocol 0x88BE with a GRE sequence number) has an 8-byte header,
 * type I (0x88BE without one) none; type III (0x22EB) has 12 bytes plus an optional 8-byte
 * platform sub-header (O flag). The source is the 10-bit session id (none for type I).
 */
export function decapErspan(buf: Buffer, gre: GreHeader, end: number, result: DecapResult): boolean {
  const start = gre.payloadStart;
  let headerLength: number;
  let session = 0;
  let linktype = LINKTYPE_ETHERNET;
  if (gre.protocol === GRE_PROTO_ERSPAN_II) {
    if (!gre.hasSequence) {
      // Type I: the mirrored frame follows GRE directly. It has no session id, so it is source
      // "erspan", apart from type II session 0 ("erspan-0").
      headerLength = 0;
      session = -1;
    } else {
      if (start + ERSPAN_II_LENGTH > end || buf[start]! >> 4 !== 1) return false;
      headerLength = ERSPAN_II_LENGTH;
      session = ((buf[start + 2]! & 0x03) << 8) | buf[start + 3]!;
    }
  } else if (gre.protocol === GRE_PROTO_ERSPAN_III) {
    if (start + ERSPAN_III_LENGTH > end || buf[start]! >> 4 !== 2) return false;
    session = ((buf[start + 2]! & 0x03) << 8) | buf[start + 3]!;
    const frameType = (buf[start + 10]! >> 2) & 0x1f;
    if (frameType === 2) linktype = LINKTYPE_RAW;
    else if (frameType !== 0) return false;
    const hasPlatformHeader = (buf[start + 11]! & 0x01) !== 0;
    headerLength = ERSPAN_III_LENGTH + (hasPlatformHeader ? ERSPAN_III_PLATFORM_LENGTH : 0);
  } else {
    return false;
  }
  if (start + headerLength >= end) return false;
  result.id = session;
  result.innerStart = start + headerLength;
  result.innerLinktype = linktype;
  return true;
}
