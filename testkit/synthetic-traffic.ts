/**
 * Fast synthetic inner traffic built in Node (no scapy): Ethernet/IPv4 TCP and UDP between many
 * hosts, with one chosen host in about `targetShare` of the packets. That host talks in bursts (as a
 * session does): in one stretch of `burstPackets` packets out of every burstPackets / (2 * share),
 * every other packet is its. For range-read tests and the fetch benchmark, where the number of
 * packets matters more than their variety.
 */
import { randomFillSync } from 'node:crypto';
import type { PcapRecord } from './pcap-records.js';

export const TARGET_HOST = '10.9.9.9';

export interface SyntheticOptions {
  startNs: bigint;
  /** Mean gap between packets. */
  stepNs: bigint;
  count: number;
  /** Added to every timestamp so sources never share a nanosecond. */
  nsOffset?: bigint;
  targetShare?: number;
  /** For a stream made in pieces: the index of the first packet, and a fixed burst phase. */
  firstIndex?: number;
  phase?: number;
  /** Share of a burst's packets that are the target host's (default 0.5). */
  burstDensity?: number;
  /** Random payload bytes (like TLS: does not compress) instead of a compressible pattern. */
  randomPayload?: boolean;
  /** Distinct conversations (default 400). */
  flows?: number;
  /** Length of the target host's bursts, in packets (default 2000). */
  burstPackets?: number;
  payloadBytes?: number;
  seed?: number;
}

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

function checksum(buf: Buffer, start: number, end: number): number {
  let sum = 0;
  for (let i = start; i < end; i += 2) sum += buf.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export function syntheticRecords(options: SyntheticOptions): PcapRecord[] {
  const random = rng(options.seed ?? 1);
  const share = options.targetShare ?? 0.01;
  const payload = options.payloadBytes ?? 200;
  const burst = options.burstPackets ?? 2000;
  const flowCount = options.flows ?? 400;
  const density = options.burstDensity ?? 0.5;
  const period = Math.max(burst, Math.round((burst * (options.burstDensity ?? 0.5)) / share));
  const phase = options.phase ?? Math.floor(random() * (period - burst));
  const first = options.firstIndex ?? 0;
  const target = TARGET_HOST.split('.').map(Number);
  const records: PcapRecord[] = [];
  let ns = options.startNs + (options.nsOffset ?? 0n);
  for (let i = 0; i < options.count; i += 1) {
    const tcp = random() < 0.6;
    const l4 = tcp ? 20 : 8;
    const len = payload + Math.floor(random() * payload);
    const data = Buffer.alloc(14 + 20 + l4 + len);
    data.writeUIntBE(0x02000000000b, 0, 6);
    data.writeUIntBE(0x02000000000a, 6, 6);
    data.writeUInt16BE(0x0800, 12);
    const ip = 14;
    data[ip] = 0x45;
    data.writeUInt16BE(20 + l4 + len, ip + 2);
    data[ip + 8] = 64;
    data[ip + 9] = tcp ? 6 : 17;
    // A fixed pool of conversations, as real traffic has: flows of many packets each.
    const flow = Math.floor(random() * flowCount);
    let src = [10, flow % 4, (flow >> 2) % 200, 1 + (flow % 250)];
    let dst = [203, 0, 113, 1 + ((flow * 7) % 250)];
    if ((first + i + period - (phase % period)) % period < burst && random() < density) {
      if (random() < 0.5) src = target;
      else dst = target;
    }
    Buffer.from(src).copy(data, ip + 12);
    Buffer.from(dst).copy(data, ip + 16);
    data.writeUInt16BE(checksum(data, ip, ip + 20), ip + 10);
    const t = ip + 20;
    data.writeUInt16BE(1024 + ((flow * 131) % 60000), t);
    data.writeUInt16BE(tcp ? 443 : 53, t + 2);
    if (tcp) data[t + 12] = 0x50;
    else data.writeUInt16BE(8 + len, t + 4);
    if (options.randomPayload) randomFillSync(data, t + l4);
    else for (let j = t + l4; j < data.length; j += 1) data[j] = (j * 31 + i) & 0xff;
    records.push({ ns, data, origLen: data.length });
    ns += options.stepNs / 2n + BigInt(Math.floor(random() * Number(options.stepNs)));
  }
  return records;
}
