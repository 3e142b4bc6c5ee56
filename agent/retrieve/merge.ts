import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { codecFromName, createDecompressor } from '../archive/compress.js';
import type { PcapFileHeader } from '../pcap/format.js';
import { PcapParser } from '../pcap/parser.js';
import { PcapBlockWriter } from '../pcap/writer.js';
import type { ObjectStore } from '../store/store.js';
import type { SelectedObject } from './select.js';

interface Packet {
  ns: bigint;
  sec: number;
  nsec: number;
  data: Buffer;
  origLen: number;
}

/** Packets of one archive object, decompressed and parsed as they stream in, oldest first. */
class ObjectPackets {
  private readonly queue: Packet[] = [];
  private index = 0;
  private done = false;
  private readonly chunks: AsyncIterator<Buffer>;
  private readonly parser: PcapParser;

  constructor(stream: Readable, readonly name: string) {
    this.chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    this.parser = new PcapParser((buf, start, end, sec, frac, origLen) => {
      const nsec = this.parser.fileHeader?.nanosecond ? frac : frac * 1000;
      this.queue.push({ ns: BigInt(sec) * 1_000_000_000n + BigInt(nsec), sec, nsec, data: Buffer.from(buf.subarray(start, end)), origLen });
    });
  }

  get header(): PcapFileHeader | undefined {
    return this.parser.fileHeader;
  }

  /** The next packet without taking it; undefined at the end of the object. */
  async peek(): Promise<Packet | undefined> {
    while (this.index >= this.queue.length && !this.done) {
      this.queue.length = 0;
      this.index = 0;
      const next = await this.chunks.next();
      if (next.done) {
        this.done = true;
        const cut = this.parser.finish();
        if (cut) throw new Error(`${this.name}: archive object is damaged at byte ${cut.offset}: ${cut.reason}`);
      } else {
        this.parser.push(next.value);
      }
    }
    return this.queue[this.index];
  }

  take(): void {
    this.index += 1;
  }
}

export interface MergeResult {
  packets: number;
  bytes: number;
  linktype: number | undefined;
}

/**
 * Writes the packets of the selected objects that fall in [fromNs, toNs] into one nanosecond pcap,
 * merged in timestamp order (a k-way merge: each object is already close to time order).
 */
export async function mergeToPcap(
  store: ObjectStore,
  objects: SelectedObject[],
  fromNs: bigint,
  toNs: bigint,
  outPath: string,
): Promise<MergeResult> {
  const sources: ObjectPackets[] = [];
  for (const { info } of objects) {
    const codec = codecFromName(info.name);
    if (!codec) continue;
    const body = await store.get(info.name);
    sources.push(new ObjectPackets(body.pipe(createDecompressor(codec)), info.name));
  }
  const heads = await Promise.all(sources.map((s) => s.peek()));
  let linktype: number | undefined;
  for (const source of sources) {
    const type = source.header?.linktype;
    if (type === undefined) continue;
    if (linktype !== undefined && type !== linktype) {
      throw new Error(
        `the selected objects hold different link types (${linktype} and ${type} in ${source.name}); choose sources with --source`,
      );
    }
    linktype = type;
  }
  const file = createWriteStream(outPath);
  let pendingDrain = false;
  const writer = new PcapBlockWriter(linktype ?? 1, 262144, true, (block) => {
    if (!file.write(block)) pendingDrain = true;
  });
  let packets = 0;
  let bytes = 0;
  for (;;) {
    let best = -1;
    for (let i = 0; i < heads.length; i += 1) {
      const head = heads[i];
      if (head && (best < 0 || head.ns < heads[best]!.ns)) best = i;
    }
    if (best < 0) break;
    const packet = heads[best]!;
    if (packet.ns >= fromNs && packet.ns <= toNs) {
      writer.write(packet.data, 0, packet.data.length, packet.sec, packet.nsec, packet.origLen);
      packets += 1;
      bytes += packet.data.length;
      if (pendingDrain) {
        pendingDrain = false;
        await once(file, 'drain');
      }
    }
    sources[best]!.take();
    heads[best] = await sources[best]!.peek();
  }
  writer.flush();
  file.end();
  await once(file, 'finish');
  return { packets, bytes, linktype };
}
