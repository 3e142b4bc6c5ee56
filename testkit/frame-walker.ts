/**
 * An independent walker over the frames of a compressed archive object, written from the format
 * specifications (zstd: RFC 8878 section 3.1; gzip: RFC 1952), so tests can check the writer's
 * frame boundaries and the index's offsets without trusting the writer's own bookkeeping.
 */
import { gunzipSync, inflateRawSync, zstdDecompressSync } from 'node:zlib';

export interface WalkedFrame {
  /** Compressed byte range in the object. */
  offset: number;
  length: number;
  /** Decompressed length (from decompressing the frame alone). */
  rawLength: number;
  /** zstd only: true for a skippable frame. */
  skippable: boolean;
}

const ZSTD_MAGIC = 0xfd2fb528;

/** Length of the zstd frame starting at `at` (RFC 8878 3.1.1), walking its block headers. */
function zstdFrameLength(buf: Buffer, at: number): { length: number; skippable: boolean } {
  const magic = buf.readUInt32LE(at);
  if ((magic & 0xfffffff0) === 0x184d2a50) return { length: 8 + buf.readUInt32LE(at + 4), skippable: true };
  if (magic !== ZSTD_MAGIC) throw new Error(`no zstd frame at offset ${at} (magic ${magic.toString(16)})`);
  const descriptor = buf[at + 4]!;
  const fcsFlag = descriptor >> 6;
  const singleSegment = (descriptor >> 5) & 1;
  const checksum = (descriptor >> 2) & 1;
  const dictFlag = descriptor & 3;
  let pos = at + 5 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][dictFlag]!;
  pos += fcsFlag === 0 ? (singleSegment ? 1 : 0) : [1, 2, 4, 8][fcsFlag]!;
  for (;;) {
    const header = buf[pos]! | (buf[pos + 1]! << 8) | (buf[pos + 2]! << 16);
    const last = header & 1;
    const type = (header >> 1) & 3;
    const size = header >> 3;
    pos += 3 + (type === 1 ? 1 : size);
    if (last) break;
  }
  if (checksum) pos += 4;
  return { length: pos - at, skippable: false };
}

/** Every frame (zstd) or member (gzip) of `object`, each decompressed on its own. */
export function walkFrames(object: Buffer, codec: 'zstd' | 'gzip'): WalkedFrame[] {
  const frames: WalkedFrame[] = [];
  let at = 0;
  while (at < object.length) {
    if (codec === 'zstd') {
      const { length, skippable } = zstdFrameLength(object, at);
      const rawLength = skippable ? 0 : zstdDecompressSync(object.subarray(at, at + length)).length;
      frames.push({ offset: at, length, rawLength, skippable });
      at += length;
    } else {
      if (object[at] !== 0x1f || object[at + 1] !== 0x8b) throw new Error(`no gzip member at offset ${at}`);
      if (object[at + 3] !== 0) throw new Error(`gzip member at ${at} has optional header fields; the walker expects none`);
      // The deflate stream's end is where inflate stops consuming input; 8 bytes of CRC32 + ISIZE follow.
      const inflated = inflateRawSync(object.subarray(at + 10), { info: true }) as unknown as { engine: { bytesWritten: number } };
      const length = 10 + inflated.engine.bytesWritten + 8;
      const rawLength = gunzipSync(object.subarray(at, at + length)).length;
      frames.push({ offset: at, length, rawLength, skippable: false });
      at += length;
    }
  }
  return frames;
}
