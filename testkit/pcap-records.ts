/** Every record of a classic pcap file, with its link type: for comparing outputs packet for packet. */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { PcapParser } from '../agent/pcap/parser.js';

const execFileP = promisify(execFile);

export interface PcapRecord {
  ns: bigint;
  data: Buffer;
  origLen: number;
}

export interface PcapFile {
  linktype: number;
  records: PcapRecord[];
}

export function parsePcap(bytes: Buffer): PcapFile {
  const records: PcapRecord[] = [];
  const parser: PcapParser = new PcapParser((buf, start, end, sec, frac, origLen) => {
    const nsec = parser.fileHeader!.nanosecond ? frac : frac * 1000;
    records.push({ ns: BigInt(sec) * 1_000_000_000n + BigInt(nsec), data: Buffer.from(buf.subarray(start, end)), origLen });
  });
  parser.push(bytes);
  const cut = parser.finish();
  if (cut) throw new Error(`pcap cut at ${cut.offset}: ${cut.reason}`);
  return { linktype: parser.fileHeader!.linktype, records };
}

export async function readPcap(path: string): Promise<PcapFile> {
  return parsePcap(await readFile(path));
}

/** libpcap's answer: `tcpdump -r file -w - EXPR` (nanosecond precision kept). */
export async function tcpdumpFilter(path: string, expression: string): Promise<PcapFile> {
  const { stdout } = await execFileP('tcpdump', ['--time-stamp-precision=nano', '-r', path, '-w', '-', expression], {
    encoding: 'buffer',
    maxBuffer: 1024 * 1024 * 1024,
  });
  return parsePcap(stdout);
}

/** One line per record (time, length, hex) so a failed comparison prints readable differences. */
export function describeRecords(records: PcapRecord[]): string[] {
  return records.map((r) => `${r.ns} ${r.origLen} ${r.data.toString('hex')}`);
}
