/** Writes records as a classic little-endian nanosecond pcap (for ground truths and test captures). */
import { writeFile } from 'node:fs/promises';
import { pcapGlobalHeader } from '../agent/pcap/writer.js';
import type { PcapRecord } from './pcap-records.js';

export function pcapBytes(records: PcapRecord[], linktype = 1): Buffer {
  const parts = [pcapGlobalHeader(linktype, 262144, true)];
  for (const r of records) {
    const head = Buffer.alloc(16);
    head.writeUInt32LE(Number(r.ns / 1_000_000_000n), 0);
    head.writeUInt32LE(Number(r.ns % 1_000_000_000n), 4);
    head.writeUInt32LE(r.data.length, 8);
    head.writeUInt32LE(r.origLen, 12);
    parts.push(head, r.data);
  }
  return Buffer.concat(parts);
}

export async function writePcap(path: string, records: PcapRecord[], linktype = 1): Promise<void> {
  await writeFile(path, pcapBytes(records, linktype));
}

/** Records of several captures in time order (ties keep the order the captures were given in). */
export function mergeByTime(...captures: PcapRecord[][]): PcapRecord[] {
  return captures.flat().sort((a, b) => (a.ns < b.ns ? -1 : a.ns > b.ns ? 1 : 0));
}
