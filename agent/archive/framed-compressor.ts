import { availableParallelism } from 'node:os';
import { Transform, type TransformCallback } from 'node:stream';

/** Compresses one block into one self-contained frame (a zstd frame or a gzip member), in pieces. */
export type FrameCodec = (block: Buffer) => Promise<Buffer[]>;

/** Where one frame landed: its compressed length in the object and its uncompressed length. */
export interface FrameExtent {
  length: number;
  rawLength: number;
}

export interface FramedCompressorOptions {
  /**
   * Frames in flight at once (on the frame workers, or compressed in place when none is idle:
   * frame-workers.ts); output order is kept. Default: one per core the process may run on
   * (taskset is honoured), at least 2 so the main thread keeps parsing while a worker compresses.
   */
  parallel?: number;
  /** Input queued before write() asks the writer to wait (bytes). */
  writableHighWaterMark?: number;
}

interface InFlight {
  frame: Promise<Buffer[]>;
  rawLength: number;
  release: (() => void) | undefined;
}

export function defaultParallelism(): number {
  return Math.max(2, availableParallelism());
}

/**
 * Turns each written block into one independent frame. The writer hands whole pcap records per
 * block (PcapBlockWriter), so every frame decompresses on its own to whole records, and the frames
 * simply concatenate into the object. Frames are compressed concurrently (memory: at most
 * `parallel` blocks in flight plus the writable buffer), and leave in the order they came in.
 * Empty blocks make no frame: an object never holds an empty frame.
 */
export class FramedCompressor extends Transform {
  /** Extents of the frames pushed so far, in order (the index's frame table). */
  readonly extents: FrameExtent[] = [];
  private readonly inFlight: InFlight[] = [];
  private readonly releases = new Map<Buffer, () => void>();
  private readonly parallel: number;

  constructor(
    private readonly codec: FrameCodec,
    options: FramedCompressorOptions = {},
  ) {
    super(options.writableHighWaterMark ? { writableHighWaterMark: options.writableHighWaterMark } : {});
    this.parallel = Math.max(1, options.parallel ?? defaultParallelism());
  }

  /**
   * Asks for `release` to be called once `block` (about to be written) has been compressed: the
   * compressor reads it until then, so the caller must not reuse it earlier.
   */
  releaseWhenCompressed(block: Buffer, release: () => void): void {
    this.releases.set(block, release);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const release = this.releases.get(chunk);
    if (release) this.releases.delete(chunk);
    if (chunk.length === 0) {
      release?.();
      return callback();
    }
    const frame = this.codec(chunk);
    frame.catch(() => undefined); // surfaced in order by drainTo()
    this.inFlight.push({ frame, rawLength: chunk.length, release });
    this.drainTo(this.parallel - 1).then(() => callback(), callback);
  }

  override _flush(callback: TransformCallback): void {
    this.drainTo(0).then(() => callback(), callback);
  }

  /** Pushes finished frames, oldest first, until at most `left` are still being compressed. */
  private async drainTo(left: number): Promise<void> {
    while (this.inFlight.length > left) {
      const next = this.inFlight[0]!;
      const pieces = await next.frame;
      this.inFlight.shift();
      next.release?.();
      let length = 0;
      for (const piece of pieces) {
        length += piece.length;
        this.push(piece);
      }
      this.extents.push({ length, rawLength: next.rawLength });
    }
  }
}
