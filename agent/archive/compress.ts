import { constants, createGunzip, createZstdCompress, createZstdDecompress } from 'node:zlib';
import type { Transform } from 'node:stream';
import { SegmentedGzip } from './segmented-gzip.js';
import type { Codec } from './types.js';

/**
 * Default levels, measured on the bench's mirrored HTTP capture (half compressible, half random
 * payload; see DESIGN.md): zstd -1 gives a smaller output than gzip -6 at about 5-10x its speed
 * (zstd -3 is 2x slower for 2% less); gzip -1 is about 2x gzip -6 for 3% more output.
 * The gzip path also stores random-looking segments instead of deflating them (segmented-gzip.ts).
 */
export const DEFAULT_LEVEL: Record<Codec, number> = { gzip: 1, zstd: 1 };

export const LEVEL_RANGE: Record<Codec, [number, number]> = { gzip: [1, 9], zstd: [1, 19] };

export const CODEC_EXTENSION: Record<Codec, string> = { gzip: 'gz', zstd: 'zst' };

/** No Content-Encoding is ever set: readers must get the compressed bytes, not a transparently inflated body. */
export const CODEC_CONTENT_TYPE: Record<Codec, string> = { gzip: 'application/gzip', zstd: 'application/zstd' };

/**
 * zlib hands output on in 1 MiB pieces instead of 16 KiB: fewer round trips to the thread pool and
 * fewer buffers. Measured in the agent at 1.5 Gbps: 256 KiB failed 5 runs of 5 (backlog growing,
 * 0.16-0.19 cores idle), 1 MiB passed 3 of 3 (0.26-0.30 cores idle).
 */
const OUTPUT_CHUNK = 1024 * 1024;
/** Lets the reader run a few blocks ahead of the compressor (which works on the thread pool). */
const INPUT_HIGH_WATER_MARK = 8 * 1024 * 1024;

export function createCompressor(codec: Codec, level: number = DEFAULT_LEVEL[codec]): Transform {
  const [low, high] = LEVEL_RANGE[codec];
  if (!Number.isInteger(level) || level < low || level > high) {
    throw new RangeError(`${codec} level must be an integer from ${low} to ${high} (got ${level})`);
  }
  const common = { chunkSize: OUTPUT_CHUNK, writableHighWaterMark: INPUT_HIGH_WATER_MARK };
  // Two segments in flight: a second core (when there is one) deflates while the first finishes.
  if (codec === 'gzip') return new SegmentedGzip({ level, parallel: 2, writableHighWaterMark: INPUT_HIGH_WATER_MARK });
  return createZstdCompress({
    ...common,
    params: { [constants.ZSTD_c_compressionLevel]: level, [constants.ZSTD_c_checksumFlag]: 1 },
  });
}

export function createDecompressor(codec: Codec): Transform {
  return codec === 'gzip' ? createGunzip({ chunkSize: OUTPUT_CHUNK }) : createZstdDecompress({ chunkSize: OUTPUT_CHUNK });
}

/** The codec of an archive object, from its name's extension. */
export function codecFromName(name: string): Codec | undefined {
  if (name.endsWith('.gz')) return 'gzip';
  if (name.endsWith('.zst')) return 'zstd';
  return undefined;
}
