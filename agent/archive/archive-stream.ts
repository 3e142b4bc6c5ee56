import { IndexCollector } from '../index/collector.js';
import { PcapBlockWriter } from '../pcap/writer.js';
import { CompressedFileWriter, type CompressedFile } from './compressed-file.js';
import type { Codec } from './types.js';

/** At most this many distinct outer source addresses are recorded per object (a VTAP has one or two). */
const MAX_OUTER_SOURCES = 16;

/**
 * One output object being built: packets of one source (or all) in one hour, as a compressed
 * pcap, with the counters and time range that become its name and metadata.
 */
export class ArchiveStream {
  packets = 0;
  bytes = 0;
  corrections = 0;
  firstSec = Number.MAX_SAFE_INTEGER;
  firstNsec = 0;
  lastSec = -1;
  lastNsec = 0;
  readonly outerSources = new Set<string>();
  private lastOuterV4 = -1;
  private readonly pcap: PcapBlockWriter;
  readonly file: CompressedFileWriter;
  /** The object's index as it is packed (undefined when indexing is off). */
  readonly index: IndexCollector | undefined;

  constructor(
    readonly source: string,
    readonly linktype: number,
    dir: string,
    codec: Codec,
    level: number | undefined,
    readonly snaplen: number,
    readonly nanosecond: boolean,
    indexed = true,
    frameSize?: number,
  ) {
    this.file = new CompressedFileWriter(dir, codec, level);
    const index = (this.index = indexed ? new IndexCollector(linktype) : undefined);
    // Each block holds whole records and becomes one frame: the index closes its frame with it.
    this.pcap = new PcapBlockWriter(linktype, snaplen, nanosecond, (block, release) => {
      index?.closeFrame(block.length);
      this.file.write(block, release);
    }, frameSize);
  }

  /** Hot path: copy one frame in and update the counters. */
  add(buf: Buffer, start: number, end: number, sec: number, frac: number, origLen: number): void {
    this.pcap.write(buf, start, end, sec, frac, origLen);
    this.packets += 1;
    this.bytes += end - start;
    const nsec = this.nanosecond ? frac : frac * 1000;
    // After the write: a write that filled the block has closed the frame before this record.
    this.index?.add(buf, start, end, sec, nsec);
    if (sec < this.firstSec || (sec === this.firstSec && nsec < this.firstNsec)) {
      this.firstSec = sec;
      this.firstNsec = nsec;
    }
    if (sec > this.lastSec || (sec === this.lastSec && nsec > this.lastNsec)) {
      this.lastSec = sec;
      this.lastNsec = nsec;
    }
  }

  /** Remembers the outer (tunnel) source address; cheap when it repeats, as it nearly always does. */
  noteOuterSource(buf: Buffer, offset: number, length: number): void {
    if (length === 4) {
      const v4 = buf.readUInt32BE(offset);
      if (v4 === this.lastOuterV4) return;
      this.lastOuterV4 = v4;
    }
    if (this.outerSources.size >= MAX_OUTER_SOURCES) return;
    this.outerSources.add(formatAddress(buf, offset, length));
  }

  async finish(): Promise<CompressedFile> {
    this.pcap.flush();
    return this.file.finish();
  }
}

function formatAddress(buf: Buffer, offset: number, length: number): string {
  if (length === 4) return `${buf[offset]}.${buf[offset + 1]}.${buf[offset + 2]}.${buf[offset + 3]}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(buf.readUInt16BE(offset + i).toString(16));
  // The WHATWG URL parser writes IPv6 in its canonical short form (RFC 5952: "fd00::1").
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}
