/**
 * agent/pcap/: the pcap/pcapng file formats: reading records (this incremental parser, reader.ts),
 * writing pcap and pcapng, buffer reuse, typed format errors. The bottom layer: it imports no other
 * agent/ folder.
 */
import {
  GLOBAL_HEADER_LENGTH,
  MAX_RECORD_LENGTH,
  PCAPNG_MAGIC,
  PCAP_MAGIC_MICRO,
  PCAP_MAGIC_NANO,
  RECORD_HEADER_LENGTH,
  type PcapFileHeader,
} from './format.js';
import { PcapFormatError } from './errors.js';

/**
 * Called once per record. `data` is only valid during the call (it may be a view into a reused
 * chunk); copy what you keep. `frac` is microseconds or nanoseconds per the file header, always
 * below one second. Returning false (exactly) pauses the parser after this record (see push/resume).
 */
export type RecordVisitor = (data: Buffer, start: number, end: number, sec: number, frac: number, origLen: number) => unknown;

/** Classic pcap seconds are an unsigned 32-bit field. */
const MAX_SECONDS = 0xffffffff;

/** Where and why a file stopped being readable before its end. */
export interface PcapCut {
  offset: number;
  reason: string;
}

/** Byte order and timestamp unit from the magic number; refuses anything that is not classic pcap. */
export function readMagic(buf: Buffer): { littleEndian: boolean; nanosecond: boolean } {
  if (buf.length < 4) throw new PcapFormatError(`too short to be a pcap file (${buf.length} bytes)`);
  const magicLE = buf.readUInt32LE(0);
  const magicBE = buf.readUInt32BE(0);
  if (magicLE === PCAPNG_MAGIC) {
    throw new PcapFormatError('pcapng is not supported; convert it with `editcap -F pcap in.pcapng out.pcap`');
  }
  let littleEndian: boolean;
  let nanosecond: boolean;
  if (magicLE === PCAP_MAGIC_MICRO || magicLE === PCAP_MAGIC_NANO) {
    littleEndian = true;
    nanosecond = magicLE === PCAP_MAGIC_NANO;
  } else if (magicBE === PCAP_MAGIC_MICRO || magicBE === PCAP_MAGIC_NANO) {
    littleEndian = false;
    nanosecond = magicBE === PCAP_MAGIC_NANO;
  } else {
    throw new PcapFormatError(`not a pcap file (magic 0x${magicBE.toString(16).padStart(8, '0')})`);
  }
  return { littleEndian, nanosecond };
}

export function parseGlobalHeader(buf: Buffer): PcapFileHeader {
  const { littleEndian, nanosecond } = readMagic(buf);
  if (buf.length < GLOBAL_HEADER_LENGTH) {
    throw new PcapFormatError(`pcap header cut short (${buf.length} of ${GLOBAL_HEADER_LENGTH} bytes)`);
  }
  const u16 = (o: number) => (littleEndian ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const u32 = (o: number) => (littleEndian ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  return {
    littleEndian,
    nanosecond,
    versionMajor: u16(4),
    versionMinor: u16(6),
    snaplen: u32(16),
    // The upper bits of this field carry FCS information in some writers; the link type is the low 16.
    linktype: u32(20) & 0xffff,
  };
}

/**
 * Incremental classic-pcap record parser: feed it chunks in file order, it calls the visitor for
 * every complete record. Hot path: no per-record allocation, records that straddle chunks are
 * reassembled in one reused carry buffer.
 */
export class PcapParser {
  private header: PcapFileHeader | undefined;
  private carry: Buffer = Buffer.alloc(0);
  private consumed = 0;
  private stopped: PcapCut | undefined;
  /** The unparsed rest of a chunk while the visitor has paused parsing. */
  private pending: Buffer | undefined;
  records = 0;
  /**
   * Records whose timestamp fraction was a whole second or more (microseconds >= 1,000,000, or
   * nanoseconds >= 1,000,000,000). Such a record is not corruption (tcpdump and Wireshark read on);
   * its excess is carried into the seconds so every later stage sees a valid time.
   */
  timestampsNormalised = 0;

  constructor(private readonly visit: RecordVisitor) {}

  get fileHeader(): PcapFileHeader | undefined {
    return this.header;
  }

  /** Set once the parser met bytes it cannot trust; later chunks are ignored. */
  get cut(): PcapCut | undefined {
    return this.stopped;
  }

  /**
   * Parses a chunk. Returns false when the visitor asked for a pause (it returned false): the rest
   * of the chunk is kept as a view, not copied, so the caller must not reuse the chunk's memory
   * until resume() has returned true.
   */
  push(chunk: Buffer): boolean {
    if (this.stopped) return true;
    if (this.pending) throw new Error('PcapParser.push while paused: call resume() until it returns true');
    let buf = chunk;
    if (this.header && this.carry.length > 0 && this.carry.length < RECORD_HEADER_LENGTH && chunk.length >= RECORD_HEADER_LENGTH - this.carry.length) {
      // The cut fell inside a record header: complete the header first, so the record's length is
      // known and only that record is reassembled (not the whole chunk copied behind the carry).
      const top = RECORD_HEADER_LENGTH - this.carry.length;
      this.carry = Buffer.concat([this.carry, chunk.subarray(0, top)]);
      buf = chunk = chunk.subarray(top);
    }
    if (this.carry.length > 0) {
      // Complete the record that straddles the boundary from just the bytes it needs, instead of
      // copying the whole chunk behind the carry (that copy cost as much as parsing everything).
      const needed = this.carryNeeds();
      if (needed > 0 && this.carry.length + chunk.length > needed) {
        const take = needed - this.carry.length;
        this.processBuffer(Buffer.concat([this.carry, chunk.subarray(0, take)]));
        this.carry = Buffer.alloc(0);
        if (this.stopped) return true;
        buf = chunk.subarray(take);
        if (this.pending) {
          this.pending = buf;
          return false;
        }
      } else {
        buf = Buffer.concat([this.carry, chunk]);
        this.carry = Buffer.alloc(0);
      }
    }
    this.processBuffer(buf);
    return this.pending === undefined || this.stopped !== undefined;
  }

  /** Goes on with the rest of a paused chunk; true once it is all parsed (or the input stopped). */
  resume(): boolean {
    const rest = this.pending;
    if (!rest) return true;
    this.pending = undefined;
    this.processBuffer(rest);
    return this.pending === undefined || this.stopped !== undefined;
  }

  /** Bytes the carried partial record needs in all (header + data), or 0 when its header is incomplete. */
  private carryNeeds(): number {
    if (!this.header || this.carry.length < RECORD_HEADER_LENGTH) return 0;
    const incl = this.header.littleEndian ? this.carry.readUInt32LE(8) : this.carry.readUInt32BE(8);
    return RECORD_HEADER_LENGTH + incl;
  }

  private processBuffer(buf: Buffer): void {
    let pos = 0;
    if (!this.header) {
      if (buf.length < GLOBAL_HEADER_LENGTH) {
        // Check the magic early so garbage is refused even when it is shorter than a header.
        if (buf.length >= 4) readMagic(buf);
        this.carry = Buffer.from(buf);
        return;
      }
      this.header = parseGlobalHeader(buf);
      // `consumed` is the file offset of buf[0] (0 here); `pos` already counts the header.
      pos = GLOBAL_HEADER_LENGTH;
    }
    const le = this.header.littleEndian;
    const fracLimit = this.header.nanosecond ? 1_000_000_000 : 1_000_000;
    const length = buf.length;
    let records = this.records;
    while (pos + RECORD_HEADER_LENGTH <= length) {
      let sec = le ? buf.readUInt32LE(pos) : buf.readUInt32BE(pos);
      let frac = le ? buf.readUInt32LE(pos + 4) : buf.readUInt32BE(pos + 4);
      const incl = le ? buf.readUInt32LE(pos + 8) : buf.readUInt32BE(pos + 8);
      const orig = le ? buf.readUInt32LE(pos + 12) : buf.readUInt32BE(pos + 12);
      if (incl > MAX_RECORD_LENGTH) {
        this.stopped = { offset: this.consumed + pos, reason: `record length ${incl} exceeds ${MAX_RECORD_LENGTH} bytes: corrupt data` };
        this.records = records;
        return;
      }
      const dataStart = pos + RECORD_HEADER_LENGTH;
      const dataEnd = dataStart + incl;
      if (dataEnd > length) break;
      if (frac >= fracLimit) {
        // Carry whole seconds; at the very end of 32-bit time, saturate instead of wrapping.
        const carried = sec + Math.floor(frac / fracLimit);
        if (carried <= MAX_SECONDS) {
          sec = carried;
          frac %= fracLimit;
        } else {
          sec = MAX_SECONDS;
          frac = fracLimit - 1;
        }
        this.timestampsNormalised += 1;
      }
      records += 1;
      pos = dataEnd;
      if (this.visit(buf, dataStart, dataEnd, sec, frac, orig < incl ? incl : orig) === false) {
        this.pending = buf.subarray(pos);
        break;
      }
    }
    this.records = records;
    this.consumed += pos;
    if (pos < length && !this.pending) this.carry = Buffer.from(buf.subarray(pos));
  }

  /**
   * Call at end of input. Returns the cut if the file ended inside a record (a crash or power loss
   * while writing) or was corrupt; every complete record before it has been visited.
   */
  finish(): PcapCut | undefined {
    if (this.stopped) return this.stopped;
    if (!this.header) {
      if (this.carry.length === 0) throw new PcapFormatError('empty file: no pcap header');
      parseGlobalHeader(this.carry);
    }
    if (this.carry.length > 0) {
      this.stopped = {
        offset: this.consumed,
        reason: `file ends inside a record (${this.carry.length} trailing bytes ignored)`,
      };
    }
    return this.stopped;
  }
}
