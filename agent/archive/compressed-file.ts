import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { fsyncFile } from '../fs/durable.js';
import { join } from 'node:path';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import { Transform, type TransformCallback } from 'node:stream';
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

/** Hashes what passes through: the sha256 names the object and travels in its metadata. */
class HashTap extends Transform {
  readonly sha256 = createHash('sha256');
  size = 0;
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.sha256.update(chunk);
    this.size += chunk.length;
    callback(null, chunk);
  }
}

/**
 * Compresses blocks into a hidden temporary file in `dir` while hashing the compressed bytes.
 * `finish()` flushes and fsyncs it; the caller then renames it to its final, content-derived name.
 */
export class CompressedFileWriter {
  readonly tempPath: string;
  private readonly compressor: FramedCompressor;
  private readonly tap = new HashTap();
  private readonly done: Promise<void>;

  constructor(dir: string, codec: Codec, level?: number, parallel?: number) {
    this.tempPath = join(dir, `.pack-${randomBytes(6).toString('hex')}.tmp`);
    this.compressor = createCompressor(codec, level, parallel === undefined ? {} : { parallel });
    this.done = pipeline(this.compressor, this.tap, createWriteStream(this.tempPath));
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
    await this.done;
    await fsyncFile(this.tempPath);
    return {
      tempPath: this.tempPath,
      size: this.tap.size,
      sha256: this.tap.sha256.digest('hex'),
      frames: this.compressor.extents,
    };
  }

  async abort(): Promise<void> {
    this.compressor.destroy();
    await this.done.catch(() => undefined);
    await rm(this.tempPath, { force: true });
  }
}
