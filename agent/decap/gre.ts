import { LINKTYPE_ETHERNET, LINKTYPE_RAW } from '../pcap/format.js';
import type { DecapResult } from './result.js';

export const GRE_PROTO_TEB = 0x6558;
export const GRE_PROTO_ERSPAN_II = 0x88be;
export const GRE_PROTO_ERSPAN_III = 0x22eb;

const FLAG_CHECKSUM = 0x8000;
const FLAG_ROUTING = 0x4000;
const FLAG_KEY = 0x2000;
const FLAG_SEQUENCE = 0x1000;

/** The parts of a GRE header (RFC 2784/2890) the decapsulators need. */
export class GreHeader {
  protocol = 0;
  payloadStart = 0;
  hasKey = false;
  key = 0;
  hasSequence = false;
}

/** Parses a version-0 GRE header at `offset`; optional checksum, key and sequence fields are skipped. */
export function parseGre(buf: Buffer, offset: number, end: number, gre: GreHeader): boolean {
  if (offset + 4 > end) return false;
  const flags = buf.readUInt16BE(offset);
  if ((flags & 0x0007) !== 0 || (flags & FLAG_ROUTING) !== 0) return false; // PPTP GRE, source routing
  let pos = offset + 4;
  if (flags & FLAG_CHECKSUM) pos += 4;
  gre.hasKey = (flags & FLAG_KEY) !== 0;
  if (gre.hasKey) {
    if (pos + 4 > end) return false;
    gre.key = buf.readUInt32BE(pos);
    pos += 4;
  }
  gre.hasSequence = (flags & FLAG_SEQUENCE) !== 0;
  if (gre.hasSequence) pos += 4;
  if (pos > end) return false;
  gre.protocol = buf.readUInt16BE(offset + 2);
  gre.payloadStart = pos;
  return true;
}

/** GRE carrying Ethernet (GRETAP, 0x6558) or bare IPv4/IPv6; the source is the GRE key. */
export function decapGrePayload(_buf: Buffer, gre: GreHeader, end: number, result: DecapResult): boolean {
  let linktype: number;
  if (gre.protocol === GRE_PROTO_TEB) linktype = LINKTYPE_ETHERNET;
  else if (gre.protocol === 0x0800 || gre.protocol === 0x86dd) linktype = LINKTYPE_RAW;
  else return false;
  if (gre.payloadStart >= end) return false;
  result.id = gre.hasKey ? gre.key : -1;
  result.innerStart = gre.payloadStart;
  result.innerLinktype = linktype;
  return true;
}
