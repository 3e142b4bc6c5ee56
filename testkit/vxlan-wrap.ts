/**
 * Wraps inner Ethernet frames in VXLAN (outer Ethernet/IPv4/UDP 4789) in Node, for captures too
 * large for scapy (benchmarks). The tests wrap with scapy (testkit/encap.py); this does the same
 * for the one shape the fetch benchmark needs.
 */
import type { PcapRecord } from './pcap-records.js';

const OUTER = 14 + 20 + 8 + 8;

export function vxlanWrap(inner: PcapRecord, vni: number, outerSrc: readonly number[] = [192, 168, 9, 1]): PcapRecord {
  const frame = Buffer.alloc(OUTER + inner.data.length);
  frame.set([0x02, 0, 0, 0, 0, 0x2b, 0x02, 0, 0, 0, 0, 0x2a], 0);
  frame.writeUInt16BE(0x0800, 12);
  frame[14] = 0x45;
  frame.writeUInt16BE(20 + 8 + 8 + inner.origLen, 16);
  frame[22] = 64;
  frame[23] = 17;
  frame.set(outerSrc, 26);
  frame.set([192, 168, 9, 2], 30);
  frame.writeUInt16BE(49152 + (vni % 16384), 34);
  frame.writeUInt16BE(4789, 36);
  frame.writeUInt16BE(8 + 8 + inner.origLen, 38);
  frame[42] = 0x08; // VNI present
  frame.writeUIntBE(vni, 46, 3);
  inner.data.copy(frame, OUTER);
  return { ns: inner.ns, data: frame, origLen: OUTER + inner.origLen };
}
