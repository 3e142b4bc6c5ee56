import { createHash, randomBytes } from 'node:crypto';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { createCompressor } from './compress.js';
import type { FrameExtent, FramedCompressor } from './framed-compressor.js';
import type { Codec } from './types.js';

export interface CompressedFile {
  tempPath: string;
  size: number;
  sha256: string;
  /** The object's frames in order: compressed and uncompressed lengths. */
  frames: FrameExtent[];
}

/** Pieces gathered into one writev: a few frames per system call. */
const SINK_HIGH_WATER_MARK = 4 * 1024 * 1024;
/**
 * Written bytes between early flushes to disk: the final fsync then waits for the last few MiB
 * only, not for the whole object (measured: 40 ms per 50 MB object on this machine's disk, while
 * nothing else ran).
 */
const EARLY_FLUSH_BYTES = 16 * 1024 * 1024;

/**
 * Writes the compressed pieces to the file and hashes them (the sha256 names the object and
 * travels in its metadata); reports every piece once it is on its way to disk, so the
 * compressor can reuse that frame's memory. `finish` leaves the file fsynced.
 */
class HashedFileSink extends Writable {
  readonly sha256 = createHash('sha256');
  size = 0;
  private file: FileHandle | undefined;
  private unflushed = 0;
  private flushing: Promise<void> | undefined;
  /**
   * A failed early flush. Linux reports a writeback error to one fsync per descriptor, so the final
   * fsync may succeed after this one failed: the file must still count as not durable.
   */
  private flushFailure: Error | undefined;

  constructor(
    private readonly path: string,
    private readonly onWritten: (piece: Buffer) => void,
  ) {
    super({ highWaterMark: SINK_HIGH_WATER_MARK });
  }

  override _construct(callback: (error?: Error | null) => void): void {
    open(this.path, 'w').then((file) => {
      this.file = file;
      callback();
    }, callback);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.writePieces([chunk]).then(() => callback(), callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    this.writePieces(chunks.map(({ chunk }) => chunk)).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    const file = this.file!;
    Promise.resolve(this.flushing)
      .then(() => file.sync())
      .then(() => callback(this.flushFailure), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const file = this.file;
    this.file = undefined;
    if (!file) return callback(error);
    file.close().then(() => callback(error), (closeError: Error) => callback(error ?? closeError));
  }

  private async writePieces(pieces: Buffer[]): Promise<void> {
    let bytes = 0;
    for (const piece of pieces) {
      this.sha256.update(piece);
      bytes += piece.length;
    }
    this.size += bytes;
    let rest = pieces;
    while (rest.length > 0) {
      const { bytesWritten } = await this.file!.writev(rest);
      rest = unwritten(rest, bytesWritten);
    }
    for (const piece of pieces) this.onWritten(piece);
    this.unflushed += bytes;
    if (this.unflushed >= EARLY_FLUSH_BYTES && !this.flushing) {
      // Not awaited: the disk works while compression goes on; _final waits for it and fails
      // with its error, if any.
      this.unflushed = 0;
      const file = this.file!;
      this.flushing = file
        .datasync()
        .catch((error: Error) => {
          this.flushFailure ??= error;
        })
        .finally(() => {
          this.flushing = undefined;
        });
    }
  }
}

/** What is left of `pieces` after the first `written` bytes (a short write: rare, but allowed). */
function unwritten(pieces: Buffer[], written: number): Buffer[] {
  let skip = written;
  let at = 0;
  while (at < pieces.length && skip >= pieces[at]!.length) skip -= pieces[at++]!.length;
  if (at === pieces.length) return [];
  return [pieces[at]!.subarray(skip), ...pieces.slice(at + 1)];
}

/**
 * Compresses blocks into a hidden temporary file in `dir` while hashing the compressed bytes.
 * `finish()` flushes and fsyncs it; the caller then renames it to its final, content-derived name.
 */
export class CompressedFileWriter {
  readonly tempPath: string;
  private readonly compressor: FramedCompressor;
  private readonly sink: HashedFileSink;
  private readonly done: Promise<void>;

  constructor(dir: string, codec: Codec, level?: number, parallel?: number) {
    this.tempPath = join(dir, `.pack-${randomBytes(6).toString('hex')}.tmp`);
    // The sink reports every written piece back, so frames are compressed into reused memory.
    this.compressor = createCompressor(codec, level, { recycleOutput: true, ...(parallel === undefined ? {} : { parallel }) });
    const compressor = this.compressor;
    this.sink = new HashedFileSink(this.tempPath, (piece) => compressor.written(piece));
    this.done = pipeline(this.compressor, this.sink);
    // A failure surfaces from finish(); keep it from being reported as unhandled before then.
    this.done.catch(() => undefined);
  }

  /**
   * Queues a block, which becomes one frame; false means "wait for drain() before queuing much
   * more". `release` is called once the block has been compressed (the compressor reads it until then).
   */
  write(block: Buffer, release?: () => void): boolean {
    if (release) this.compressor.releaseWhenCompressed(block, release);
    return this.compressor.write(block);
  }

  get needsDrain(): boolean {
    return this.compressor.writableNeedDrain;
  }

  async drain(): Promise<void> {
    if (this.compressor.writableNeedDrain) await once(this.compressor, 'drain');
  }

  async finish(): Promise<CompressedFile> {
    // Frames are compressed one-shot, never by a zstd stream: Node's stream, ended while writes
    // were queued, added an empty 13-byte frame that tshark 4.0 reports as damage.
    this.compressor.end();
    await this.done; // the sink fsyncs the file as it finishes
    return {
      tempPath: this.tempPath,
      size: this.sink.size,
      sha256: this.sink.sha256.digest('hex'),
      frames: this.compressor.extents,
    };
  }

  async abort(): Promise<void> {
    this.compressor.destroy();
    await this.done.catch(() => undefined);
    await rm(this.tempPath, { force: true });
  }
}
