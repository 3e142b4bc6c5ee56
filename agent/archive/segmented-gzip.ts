import { Transform, type TransformCallback } from 'node:stream';
import { promisify } from 'node:util';
import { constants, crc32, deflateRaw } from 'node:zlib';
import { looksIncompressible } from './entropy.js';

const deflateRawAsync = promisify(deflateRaw);

/** Fixed gzip header (RFC 1952): deflate, no name, mtime 0 and Unix, so equal input gives equal bytes. */
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03]);
/** The empty final stored block (BFINAL=1, BTYPE=00, LEN=0, NLEN=0xffff) that ends the deflate stream. */
const FINAL_EMPTY_BLOCK = Buffer.from([0x01, 0x00, 0x00, 0xff, 0xff]);
const STORED_BLOCK_MAX = 0xffff;

export interface SegmentedGzipOptions {
  level: number;
  /** Segments compressed at once on the libuv thread pool (pigz-style); output order is kept. */
  parallel?: number;
  /** Store segments that sampling says deflate cannot shrink (see entropy.ts); default true. */
  storeIncompressible?: boolean;
  /** Input queued before write() asks the writer to wait (bytes). */
  writableHighWaterMark?: number;
}

export interface SegmentedGzipStats {
  segments: number;
  storedSegments: number;
}

/**
 * A single-member gzip stream built segment by segment: every written chunk (the packer writes
 * 1 MiB pcap blocks) is deflated on its own (no history across segments; deflate's window is only
 * 32 KiB anyway) and ends byte-aligned with a sync flush, so segments simply concatenate.
 *
 * Why not zlib's own gzip stream: deflate spends as long on random bytes (TLS, compressed files)
 * as on text, ~40 MB/s, to save the few percent that packet headers give. A segment whose sample
 * looks random is written as stored blocks at copy speed instead; and independent segments can be
 * compressed on several thread-pool threads at once.
 */
export class SegmentedGzip extends Transform {
  readonly stats: SegmentedGzipStats = { segments: 0, storedSegments: 0 };
  private crc = 0;
  private size = 0;
  private readonly pending: Promise<Buffer>[] = [];
  private readonly parallel: number;
  private readonly storeIncompressible: boolean;

  constructor(private readonly options: SegmentedGzipOptions) {
    super(options.writableHighWaterMark ? { writableHighWaterMark: options.writableHighWaterMark } : {});
    this.parallel = Math.max(1, options.parallel ?? 1);
    this.storeIncompressible = options.storeIncompressible ?? true;
    this.push(GZIP_HEADER);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (chunk.length === 0) return callback();
    this.crc = crc32(chunk, this.crc);
    this.size += chunk.length;
    this.stats.segments += 1;
    if (this.storeIncompressible && looksIncompressible(chunk)) {
      this.stats.storedSegments += 1;
      this.pending.push(Promise.resolve(storedBlocks(chunk)));
    } else {
      // memLevel 9: the largest hash table, measured ~20% faster than the default 8 at the same size.
      // chunkSize: a segment's output in one piece rather than in 16 KiB pieces concatenated after.
      const deflated = deflateRawAsync(chunk, { level: this.options.level, memLevel: 9, chunkSize: chunk.length + 1024, finishFlush: constants.Z_SYNC_FLUSH });
      deflated.catch(() => undefined); // surfaced in order by drainTo()
      this.pending.push(deflated);
    }
    this.drainTo(this.parallel - 1).then(() => callback(), callback);
  }

  override _flush(callback: TransformCallback): void {
    this.drainTo(0).then(() => {
      const trailer = Buffer.alloc(8);
      trailer.writeUInt32LE(this.crc >>> 0, 0);
      trailer.writeUInt32LE(this.size % 2 ** 32, 4);
      this.push(FINAL_EMPTY_BLOCK);
      this.push(trailer);
      callback();
    }, callback);
  }

  /** Pushes finished segments, oldest first, until at most `left` are still in flight. */
  private async drainTo(left: number): Promise<void> {
    while (this.pending.length > left) this.push(await this.pending.shift()!);
  }
}

/** The segment as non-final stored deflate blocks (the stream is byte-aligned between segments). */
function storedBlocks(data: Buffer): Buffer {
  const blocks = Math.ceil(data.length / STORED_BLOCK_MAX);
  const out = Buffer.allocUnsafe(data.length + blocks * 5);
  let at = 0;
  for (let from = 0; from < data.length; from += STORED_BLOCK_MAX) {
    const length = Math.min(STORED_BLOCK_MAX, data.length - from);
    out[at] = 0x00; // BFINAL=0, BTYPE=00 (stored); the rest of the byte is padding
    out.writeUInt16LE(length, at + 1);
    out.writeUInt16LE(~length & 0xffff, at + 3);
    data.copy(out, at + 5, from, from + length);
    at += 5 + length;
  }
  return out;
}
