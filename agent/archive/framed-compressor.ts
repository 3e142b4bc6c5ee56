import { availableParallelism } from 'node:os';
import { Transform, type TransformCallback } from 'node:stream';

/** One self-contained frame (a zstd frame or a gzip member), in pieces. */
export interface EncodedFrame {
  pieces: Buffer[];
  /** Gives the pieces' pooled memory back; only set when the codec was asked to recycle. */
  release?: () => void;
}

/**
 * Compresses one block into one frame. With `recycle`, the frame may live in pooled memory that
 * must not be reused before `release` is called.
 */
export type FrameCodec = (block: Buffer, recycle: boolean) => Promise<EncodedFrame>;

/** Where one frame landed: its compressed length in the object and its uncompressed length. */
export interface FrameExtent {
  length: number;
  rawLength: number;
}

export interface FramedCompressorOptions {
  /**
   * Frames in flight at once (queued on the frame workers, or compressed in place when they are
   * behind: frame-workers.ts); output order is kept. Default: one more than the cores the process
   * may run on (taskset is honoured), so this thread keeps parsing while every worker has a frame
   * and the next one waits.
   */
  parallel?: number;
  /** Input queued before write() asks the writer to wait (bytes). */
  writableHighWaterMark?: number;
  /**
   * The reader promises to call written() with the last piece of every frame once it has written
   * that frame out: frames are then compressed into pooled memory, reused after that call.
   * Readers that keep the pieces (or forget to call it) must leave this off.
   */
  recycleOutput?: boolean;
}

/** Frames in pooled memory awaiting the reader's written() at most (32 MiB of 1 MiB frames). */
const MAX_UNWRITTEN_FRAMES = 32;

interface InFlight {
  frame: Promise<EncodedFrame>;
  rawLength: number;
  release: (() => void) | undefined;
}

export function defaultParallelism(): number {
  return availableParallelism() + 1;
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
  /** Pooled frame memory to give back, by the last piece of its frame. */
  private readonly afterWrite = new Map<Buffer, () => void>();
  private readonly parallel: number;
  private readonly recycleOutput: boolean;

  constructor(
    private readonly codec: FrameCodec,
    options: FramedCompressorOptions = {},
  ) {
    super(options.writableHighWaterMark ? { writableHighWaterMark: options.writableHighWaterMark } : {});
    this.parallel = Math.max(1, options.parallel ?? defaultParallelism());
    this.recycleOutput = options.recycleOutput === true;
  }

  /**
   * The reader has written out `piece`: when it is the last piece of a frame (and the frame lives in
   * pooled memory), that memory is reused for a later frame. Any other piece is ignored.
   */
  written(piece: Buffer): void {
    const release = this.afterWrite.get(piece);
    if (!release) return;
    this.afterWrite.delete(piece);
    release();
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
    const frame = this.codec(chunk, this.recycleOutput);
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
      const { pieces, release } = await next.frame;
      this.inFlight.shift();
      next.release?.();
      // Pieces are written in order, so the last one written means the whole frame is.
      const last = pieces[pieces.length - 1];
      if (release && last) {
        this.afterWrite.set(last, release);
        // A reader that never reports (or hands on copies) must not make this hold every frame:
        // the oldest are forgotten, so their memory is collected instead of reused.
        if (this.afterWrite.size > MAX_UNWRITTEN_FRAMES) this.afterWrite.delete(this.afterWrite.keys().next().value!);
      }
      let length = 0;
      for (const piece of pieces) {
        length += piece.length;
        this.push(piece);
      }
      this.extents.push({ length, rawLength: next.rawLength });
    }
  }
}
