import { gunzipSync, zstdDecompressSync } from 'node:zlib';
import { codecFromName, createDecompressor } from '../archive/compress.js';
import { PcapParser } from '../pcap/parser.js';
import { packetMatcher, type PacketMatcher } from '../query/packet-matcher.js';
import { pcapHeaderFromIndex } from '../query/index-reader.js';
import { download, type FetchContext, type FrameRead, type ObjectPlan } from './plan.js';

export interface Packet {
  ns: bigint;
  data: Buffer;
  origLen: number;
}

/**
 * The window's matching packets of one object, oldest first as stored: frame by frame from the
 * planned ranged reads of an indexed object, or streamed from the whole object without one. A
 * damaged frame or object is skipped with a warning naming it; the fetch then reports partial.
 */
export class ObjectReader {
  private queue: Packet[] = [];
  private position = 0;
  private readIndex = 0;
  /** The ranged read being decoded, its bytes, and its next frame. */
  private read: FrameRead | undefined;
  private readBytes: Buffer | undefined;
  private frameInRead = 0;
  private pcapHeader: Buffer | undefined;
  private stream: AsyncIterator<Buffer> | undefined;
  private parser: PcapParser | undefined;
  private matcher: PacketMatcher | undefined;
  private done = false;
  linktype: number | undefined;

  constructor(
    private readonly ctx: FetchContext,
    readonly plan: ObjectPlan,
  ) {
    if (plan.header) this.linktype = plan.header.pcap.linktype;
  }

  get name(): string {
    return this.plan.object.info.name;
  }

  /** The next packet, or undefined at the end. */
  async next(): Promise<Packet | undefined> {
    while (this.position >= this.queue.length) {
      if (this.done) return undefined;
      this.queue = [];
      this.position = 0;
      if (this.plan.header) await this.readNextFrame();
      else await this.readNextChunk();
    }
    return this.queue[this.position++];
  }

  private keep(buf: Buffer, start: number, end: number, sec: number, frac: number, origLen: number, nanosecond: boolean): void {
    const ns = BigInt(sec) * 1_000_000_000n + BigInt(nanosecond ? frac : frac * 1000);
    if (ns < this.ctx.fromNs || ns > this.ctx.toNs) return;
    if (!this.matcher!(buf, start, end)) return;
    this.queue.push({ ns, data: Buffer.from(buf.subarray(start, end)), origLen });
  }

  private damaged(what: string, reason: string): void {
    this.ctx.stats.damaged += 1;
    this.ctx.warn(`damaged ${what} skipped: ${reason}`);
  }

  /**
   * Decodes the next planned frame into the queue, downloading the next ranged read when the
   * current one is used up. One frame at a time: a read joins up to 4 MiB of adjacent frames, and
   * decoding them all at once held every one of their packets per open object.
   */
  private async readNextFrame(): Promise<void> {
    const header = this.plan.header!;
    if (!this.read || this.frameInRead >= this.read.frames.length) {
      this.read = undefined;
      this.readBytes = undefined;
      const read = this.plan.reads[this.readIndex];
      if (!read) {
        this.done = true;
        return;
      }
      let bytes: Buffer;
      try {
        bytes = this.readIndex === 0 && this.plan.firstRead ? await this.plan.firstRead : await download(this.ctx, this.name, read);
      } catch (error) {
        this.readIndex += 1;
        this.damaged(`${this.name} bytes ${read.start}-${read.end - 1}`, (error as Error).message);
        return;
      }
      this.readIndex += 1;
      if (this.readIndex === 1) this.ctx.stats.objectsRead += 1;
      this.plan.firstRead = undefined; // its bytes are this read's now
      this.read = read;
      this.readBytes = bytes;
      this.frameInRead = 0;
      this.matcher ??= packetMatcher(this.ctx.filter, header.pcap.linktype);
      this.pcapHeader ??= pcapHeaderFromIndex(header);
    }
    const read = this.read;
    const frame = read.frames[this.frameInRead++]!;
    const slice = this.readBytes!.subarray(frame.offset - read.start, frame.offset - read.start + frame.length);
    const what = `frame ${frame.i} of ${this.name}`;
    let raw: Buffer;
    try {
      raw = header.codec === 'zstd' ? zstdDecompressSync(slice) : gunzipSync(slice);
    } catch (error) {
      this.damaged(what, (error as Error).message);
      return;
    }
    this.ctx.stats.framesRead += 1;
    const parser: PcapParser = new PcapParser((buf, start, end, sec, frac, origLen) =>
      this.keep(buf, start, end, sec, frac, origLen, parser.fileHeader!.nanosecond));
    try {
      if (frame.i > 0) parser.push(this.pcapHeader!);
      parser.push(raw);
      const cut = parser.finish();
      if (cut) {
        this.damaged(what, `${cut.reason} at byte ${cut.offset}`);
        this.queue.length = 0; // a frame is whole or not at all
      }
    } catch (error) {
      this.queue.length = 0;
      this.damaged(what, (error as Error).message);
    }
  }

  /** No index: stream the whole object through its decompressor. */
  private async readNextChunk(): Promise<void> {
    if (!this.stream) {
      const codec = codecFromName(this.name) ?? 'zstd';
      const body = await this.ctx.store.get(this.name);
      body.on('data', (chunk: Buffer) => (this.ctx.stats.downloaded += chunk.length));
      const decompressor = createDecompressor(codec);
      body.on('error', (error) => decompressor.destroy(error));
      this.stream = body.pipe(decompressor)[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
      this.ctx.stats.objectsRead += 1;
      const parser: PcapParser = new PcapParser((buf, start, end, sec, frac, origLen) => {
        if (!this.matcher) {
          this.linktype = parser.fileHeader!.linktype;
          this.matcher = packetMatcher(this.ctx.filter, this.linktype);
        }
        this.keep(buf, start, end, sec, frac, origLen, parser.fileHeader!.nanosecond);
      });
      this.parser = parser;
    }
    try {
      const next = await this.stream.next();
      if (next.done) {
        this.done = true;
        const cut = this.parser!.finish();
        if (cut) this.damaged(this.name, `${cut.reason} at byte ${cut.offset}; the packets before it are delivered`);
      } else {
        this.parser!.push(next.value);
        if (this.parser!.cut) {
          this.done = true;
          this.damaged(this.name, `${this.parser!.cut.reason} at byte ${this.parser!.cut.offset}; the packets before it are delivered`);
        }
      }
    } catch (error) {
      this.done = true;
      this.damaged(this.name, `${(error as Error).message}; the packets before it are delivered`);
    }
  }
}
