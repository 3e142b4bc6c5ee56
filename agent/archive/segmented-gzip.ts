import { crc32 } from 'node:zlib';
import { looksIncompressible } from './entropy.js';
import { compressOnWorker } from './frame-workers.js';
import { FramedCompressor, type FramedCompressorOptions } from './framed-compressor.js';

/** Fixed gzip header (RFC 1952): deflate, no name, mtime 0 and Unix, so equal input gives equal bytes. */
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03]);
const STORED_BLOCK_MAX = 0xffff;

export interface SegmentedGzipOptions extends FramedCompressorOptions {
  level: number;
  /** Store segments that sampling says deflate cannot shrink (see entropy.ts); default true. */
  storeIncompressible?: boolean;
}

export interface SegmentedGzipStats {
  segments: number;
  storedSegments: number;
}

/**
 * The gzip codec: every written segment (the packer writes 1 MiB pcap blocks of whole records)
 * becomes its own gzip member, compressed on the frame workers with others in flight (pigz-style).
 * Concatenated members are one valid gzip file (RFC 1952 2.2; gzip -d and Wireshark read them all),
 * and each member decompresses alone, which is what makes objects seekable.
 *
 * Why not zlib's own gzip stream: deflate spends as long on random bytes (TLS, compressed files)
 * as on text, ~40 MB/s, to save the few percent that packet headers give. A segment whose sample
 * looks random is written as stored blocks at copy speed instead.
 */
export class SegmentedGzip extends FramedCompressor {
  readonly stats: SegmentedGzipStats = { segments: 0, storedSegments: 0 };

  constructor(options: SegmentedGzipOptions) {
    const storeIncompressible = options.storeIncompressible ?? true;
    super((segment, recycle) => {
      this.stats.segments += 1;
      if (storeIncompressible && looksIncompressible(segment)) {
        this.stats.storedSegments += 1;
        return Promise.resolve({ pieces: gzipMember(segment, storedBlocks(segment)) });
      }
      // On a worker (frame-workers.ts): deflate with memLevel 9, the largest hash table, measured
      // ~20% faster than the default 8 at the same size; the CRC-32 is computed there too.
      return compressOnWorker({ codec: 'deflate', level: options.level, data: segment, recycle }).then(({ frame, crc, release }) =>
        release ? { pieces: gzipMember(segment, frame, crc), release } : { pieces: gzipMember(segment, frame, crc) },
      );
    }, options);
  }
}

/** Header + a complete raw deflate stream + CRC32 and ISIZE of the segment (pieces, not copied together). */
function gzipMember(segment: Buffer, deflated: Buffer, crc = crc32(segment)): Buffer[] {
  const trailer = Buffer.allocUnsafe(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE(segment.length % 2 ** 32, 4);
  return [GZIP_HEADER, deflated, trailer];
}

/** The segment as stored deflate blocks, the last one final (a complete deflate stream). */
function storedBlocks(data: Buffer): Buffer {
  const blocks = Math.max(1, Math.ceil(data.length / STORED_BLOCK_MAX));
  const out = Buffer.allocUnsafe(data.length + blocks * 5);
  let at = 0;
  for (let i = 0, from = 0; i < blocks; i += 1, from += STORED_BLOCK_MAX) {
    const length = Math.min(STORED_BLOCK_MAX, data.length - from);
    out[at] = i === blocks - 1 ? 0x01 : 0x00; // BFINAL on the last, BTYPE=00 (stored)
    out.writeUInt16LE(length, at + 1);
    out.writeUInt16LE(~length & 0xffff, at + 3);
    data.copy(out, at + 5, from, from + length);
    at += 5 + length;
  }
  return out;
}
