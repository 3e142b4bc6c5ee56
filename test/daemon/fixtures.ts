/** Small inputs and doubles for the daemon tests: VXLAN captures, a log collector, a store that fails on demand. */
import { writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { createLogger, type Logger } from '../../agent/daemon/logger.js';
import { TransientStoreError } from '../../agent/store/errors.js';
import type { ObjectInfo, ObjectStore, PutRequest, PutResult, ListOptions, ByteRange } from '../../agent/store/store.js';
import type { Readable } from 'node:stream';

/**
 * Writes a nanosecond pcap of `count` VXLAN packets (outer Ethernet/IPv4/UDP 4789, VNI `vni`) whose
 * inner frames carry distinct, seeded payloads of `payload` bytes. Returns the inner frames (hex).
 */
export async function writeVxlanCapture(path: string, options: { count: number; vni: number; startSec: number; payload?: number; seed?: number }): Promise<string[]> {
  const payload = options.payload ?? 600;
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b23c4d, 0); // nanosecond magic
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(1, 20); // Ethernet
  const parts: Buffer[] = [header];
  const inner: string[] = [];
  for (let i = 0; i < options.count; i += 1) {
    // Inner frame: Ethernet + IPv4 (UDP) with a payload derived from (seed, i).
    const body = createHash('sha256').update(`${options.seed ?? 0}-${options.vni}-${i}`).digest();
    const data = Buffer.alloc(payload);
    for (let j = 0; j < payload; j += 1) data[j] = body[j % body.length]! ^ (j & 0xff);
    const innerIp = ipv4(17, '10.1.0.1', '10.1.0.2', Buffer.concat([udp(40000 + (i % 1000), 80, data.length), data]));
    const innerFrame = Buffer.concat([eth('02:00:00:00:00:01', '02:00:00:00:00:02'), innerIp]);
    inner.push(innerFrame.toString('hex'));
    const vxlan = Buffer.alloc(8);
    vxlan[0] = 0x08;
    vxlan.writeUIntBE(options.vni, 4, 3);
    const outerUdpPayload = Buffer.concat([vxlan, innerFrame]);
    const outer = Buffer.concat([eth('02:00:00:00:00:0a', '02:00:00:00:00:0b'), ipv4(17, '10.99.0.10', '10.99.0.1', Buffer.concat([udp(50000 + (i % 10000), 4789, outerUdpPayload.length), outerUdpPayload]))]);
    const record = Buffer.alloc(16);
    record.writeUInt32LE(options.startSec + Math.floor(i / 1000), 0);
    record.writeUInt32LE((i % 1000) * 1_000_000 + 7, 4);
    record.writeUInt32LE(outer.length, 8);
    record.writeUInt32LE(outer.length, 12);
    parts.push(record, outer);
  }
  await writeFile(path, Buffer.concat(parts));
  return inner;
}

function eth(src: string, dst: string): Buffer {
  const b = Buffer.alloc(14);
  Buffer.from(dst.replaceAll(':', ''), 'hex').copy(b, 0);
  Buffer.from(src.replaceAll(':', ''), 'hex').copy(b, 6);
  b.writeUInt16BE(0x0800, 12);
  return b;
}

function ipv4(proto: number, src: string, dst: string, payload: Buffer): Buffer {
  const b = Buffer.alloc(20);
  b[0] = 0x45;
  b.writeUInt16BE(20 + payload.length, 2);
  b[8] = 64;
  b[9] = proto;
  Buffer.from(src.split('.').map(Number)).copy(b, 12);
  Buffer.from(dst.split('.').map(Number)).copy(b, 16);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += b.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  b.writeUInt16BE(~sum & 0xffff, 10);
  return Buffer.concat([b, payload]);
}

function udp(sport: number, dport: number, length: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt16BE(sport, 0);
  b.writeUInt16BE(dport, 2);
  b.writeUInt16BE(8 + length, 4);
  return b;
}

/** A logger whose JSON lines are kept for assertions. */
export function collectingLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({ level: 'debug', journald: false, write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

/** Wraps a store: while `down`, every call fails as a network outage would; `tamperHead` lies about sha256. */
export class FlakyStore implements ObjectStore {
  down = false;
  tamperHead = false;
  puts = 0;
  failures = 0;
  constructor(private readonly inner: ObjectStore) {}
  get location(): string {
    return this.inner.location;
  }
  private check(): void {
    if (this.down) {
      this.failures += 1;
      throw new TransientStoreError('connect ECONNREFUSED (test outage)');
    }
  }
  async put(request: PutRequest): Promise<PutResult> {
    this.check();
    this.puts += 1;
    return this.inner.put(request);
  }
  async head(name: string): Promise<ObjectInfo | undefined> {
    this.check();
    const info = await this.inner.head(name);
    return info && this.tamperHead ? { ...info, sha256: '0'.repeat(64), metadata: { ...info.metadata, sha256: '0'.repeat(64) } } : info;
  }
  list(options?: ListOptions): AsyncIterable<ObjectInfo> {
    return this.inner.list(options);
  }
  get(name: string, range?: ByteRange): Promise<Readable> {
    return this.inner.get(name, range);
  }
}
