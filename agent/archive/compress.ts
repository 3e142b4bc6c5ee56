import { createGunzip } from 'node:zlib';
import { compressOnWorker } from './frame-workers.js';
import type { Duplex } from 'node:stream';
import { createMultiFrameZstdDecompress } from './zstd-frames.js';
import { FramedCompressor, type FrameCodec, type FramedCompressorOptions } from './framed-compressor.js';
import { SegmentedGzip } from './segmented-gzip.js';
import type { Codec } from './types.js';

/**
 * Default levels, measured on the bench's mirrored HTTP capture (half compressible, half random
 * payload; DESIGN.md "Why these choices"): zstd -1 gives 1% less output than gzip -6 at about 5x its speed
 * end to end (zstd -3 takes 1.4x the time for 1.4% less); gzip -1 with random-looking segments
 * stored, not deflated (segmented-gzip.ts), is about 3.5x gzip -6 for 4% more output.
 */
export const DEFAULT_LEVEL: Record<Codec, number> = { gzip: 1, zstd: 1 };

export const LEVEL_RANGE: Record<Codec, [number, number]> = { gzip: [1, 9], zstd: [1, 19] };

export const CODEC_EXTENSION: Record<Codec, string> = { gzip: 'gz', zstd: 'zst' };

/** No Content-Encoding is ever set: readers must get the compressed bytes, not a transparently inflated body. */
export const CODEC_CONTENT_TYPE: Record<Codec, string> = { gzip: 'application/gzip', zstd: 'application/zstd' };

/**
 * Decompression hands output on in 1 MiB pieces instead of 16 KiB: fewer round trips to the
 * thread pool and fewer buffers (measured on the compressing side, when it still streamed: 256 KiB
 * pieces failed 1.5 Gbps in the agent 5 runs of 5, 1 MiB passed 3 of 3).
 */
const OUTPUT_CHUNK = 1024 * 1024;
/** Lets the reader run a few blocks ahead of the compressor (which works on the frame workers). */
const INPUT_HIGH_WATER_MARK = 8 * 1024 * 1024;

/** One block -> one zstd frame (on a worker thread or in place), with its content size (`zstd -l` shows it) and a checksum. */
export function zstdFrame(level: number): FrameCodec {
  return async (block, recycle) => {
    const { frame, release } = await compressOnWorker({ codec: 'zstd', level, data: block, recycle });
    return release ? { pieces: [frame], release } : { pieces: [frame] };
  };
}

/**
 * The archive compressor: each written block (whole pcap records) becomes one independent frame,
 * compressed on the frame workers (frame-workers.ts) with up to `parallel` frames in flight (see framed-compressor.ts).
 */
export function createCompressor(codec: Codec, level: number = DEFAULT_LEVEL[codec], options: FramedCompressorOptions = {}): FramedCompressor {
  const [low, high] = LEVEL_RANGE[codec];
  if (!Number.isInteger(level) || level < low || level > high) {
    throw new RangeError(`${codec} level must be an integer from ${low} to ${high} (got ${level})`);
  }
  const framing = { writableHighWaterMark: INPUT_HIGH_WATER_MARK, ...options };
  if (codec === 'gzip') return new SegmentedGzip({ level, ...framing });
  return new FramedCompressor(zstdFrame(level), framing);
}

/**
 * Decompresses a whole object: every gzip member (node:zlib's gunzip reads concatenated members)
 * or every zstd frame (node:zlib's zstd stops after the first; see zstd-frames.ts).
 */
export function createDecompressor(codec: Codec): Duplex {
  return codec === 'gzip' ? createGunzip({ chunkSize: OUTPUT_CHUNK }) : createMultiFrameZstdDecompress(OUTPUT_CHUNK);
}

/** The codec of an archive object, from its name's extension. */
export function codecFromName(name: string): Codec | undefined {
  if (name.endsWith('.gz')) return 'gzip';
  if (name.endsWith('.zst')) return 'zstd';
  return undefined;
}
