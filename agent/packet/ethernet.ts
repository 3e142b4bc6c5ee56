/**
 * agent/packet/: link-layer helpers every dissector shares: VLAN/QinQ tags (here) and the truncation
 * fix (truncation.ts, lengths from the IP header). Imports only pcap/; must not import decap/,
 * archive/ or anything above.
 */
/** 802.1Q, 802.1ad (QinQ outer) and the old 0x9100 QinQ tag: each adds four bytes before the ethertype. */
function isVlanTag(type: number): boolean {
  return type === 0x8100 || type === 0x88a8 || type === 0x9100;
}

/**
 * Skips any VLAN tags starting at `typeOffset` (where an Ethernet or SLL header puts its type
 * field); returns the offset of the real ethertype, or -1 when the frame ends first.
 */
export function skipVlanTags(buf: Buffer, typeOffset: number, end: number): number {
  let offset = typeOffset;
  while (offset + 2 <= end) {
    if (!isVlanTag(buf.readUInt16BE(offset))) return offset;
    offset += 4;
  }
  return -1;
}
