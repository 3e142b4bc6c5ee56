import { BufferPool } from './buffer-pool.js';
import { GLOBAL_HEADER_LENGTH, PCAP_MAGIC_MICRO, PCAP_MAGIC_NANO, RECORD_HEADER_LENGTH } from './format.js';

/** Output is handed on in blocks of this size: few enough calls into zlib, little memory per stream. */
export const BLOCK_SIZE = 1024 * 1024;
/** Shared by all streams of the process: at most 32 MiB kept for reuse. */
const blocks = new BufferPool(BLOCK_SIZE, 32);

/** Receives a filled block; `release` hands it back for reuse once nothing reads it any more (optional). */
export type BlockConsumer = (block: Buffer, release: () => void) => void;

/** A classic pcap global header, little-endian, version 2.4. */
export function pcapGlobalHeader(linktype: number, snaplen: number, nanosecond: boolean): Buffer {
  const header = Buffer.alloc(GLOBAL_HEADER_LENGTH);
  header.writeUInt32LE(nanosecond ? PCAP_MAGIC_NANO : PCAP_MAGIC_MICRO, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(snaplen, 16);
  header.writeUInt32LE(linktype, 20);
  return header;
}

/**
 * Builds a little-endian classic pcap stream in 1 MiB blocks (or `blockSize`, e.g. small frames for
 * tests) and hands each full block to `emit`.
 * Hot path: one copy per record into the current block; when one fills, the next comes from a pool
 * (the filled one belongs to the consumer until it releases it, e.g. once zstd has taken it in).
 */
export class PcapBlockWriter {
  private block: Buffer;
  private used = 0;
  /** Bytes a block holds before it is handed on (a record larger than this gets a block of its own). */
  private readonly limit: number;

  constructor(
    linktype: number,
    snaplen: number,
    nanosecond: boolean,
    private readonly emit: BlockConsumer,
    blockSize = BLOCK_SIZE,
  ) {
    this.limit = blockSize;
    this.block = this.takeBlock();
    pcapGlobalHeader(linktype, snaplen, nanosecond).copy(this.block, 0);
    this.used = GLOBAL_HEADER_LENGTH;
  }

  write(data: Buffer, start: number, end: number, sec: number, frac: number, origLen: number): void {
    const incl = end - start;
    const need = RECORD_HEADER_LENGTH + incl;
    if (this.used + need > this.limit || this.used + need > this.block.length) {
      this.flush();
      if (need > this.block.length) this.block = Buffer.allocUnsafe(need);
    }
    const block = this.block;
    let pos = this.used;
    block.writeUInt32LE(sec, pos);
    block.writeUInt32LE(frac, pos + 4);
    block.writeUInt32LE(incl, pos + 8);
    block.writeUInt32LE(origLen, pos + 12);
    pos += RECORD_HEADER_LENGTH;
    data.copy(block, pos, start, end);
    this.used = pos + incl;
  }

  /** Hands on whatever is buffered (a partial block) and starts a fresh block. */
  flush(): void {
    if (this.used === 0) return;
    const full = this.block;
    this.emit(full.subarray(0, this.used), () => blocks.give(full));
    this.block = this.takeBlock();
    this.used = 0;
  }

  /** Pooled 1 MiB blocks serve any limit up to 1 MiB; larger limits get blocks of their own size. */
  private takeBlock(): Buffer {
    return this.limit > BLOCK_SIZE ? Buffer.allocUnsafe(this.limit) : blocks.take();
  }
}
