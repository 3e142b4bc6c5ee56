import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { fsyncFile } from '../fs/durable.js';
import { join } from 'node:path';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import { Transform, type TransformCallback } from 'node:stream';
import { createCompressor } from './compress.js';
import { SegmentedGzip } from './segmented-gzip.js';
import type { Codec } from './types.js';

export interface CompressedFile {
  tempPath: string;
  size: number;
  sha256: string;
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
  private readonly compressor: Transform;
  private readonly tap = new HashTap();
  private readonly done: Promise<void>;
  /** Settles once the compressor has taken in the last block written (see finish()). */
  private lastWrite: Promise<void> = Promise.resolve();

  constructor(dir: string, codec: Codec, level?: number) {
    this.tempPath = join(dir, `.pack-${randomBytes(6).toString('hex')}.tmp`);
    this.compressor = createCompressor(codec, level);
    this.done = pipeline(this.compressor, this.tap, createWriteStream(this.tempPath));
    // A failure surfaces from finish(); keep it from being reported as unhandled before then.
    this.done.catch(() => undefined);
  }

  /**
   * Queues a block; false means "wait for drain() before queuing much more". `release` is called
   * once the compressor no longer reads the block: zstd has copied it in when its write completes;
   * the segmented gzip keeps segments in flight past that point, so its blocks are never released.
   */
  write(block: Buffer, release?: () => void): boolean {
    let accepted!: boolean;
    this.lastWrite = new Promise<void>((resolve) => {
      accepted = this.compressor.write(block, (error) => {
        if (!error && release && !(this.compressor instanceof SegmentedGzip)) release();
        resolve();
      });
    });
    return accepted;
  }

  get needsDrain(): boolean {
    return this.compressor.writableNeedDrain;
  }

  async drain(): Promise<void> {
    if (this.compressor.writableNeedDrain) await once(this.compressor, 'drain');
  }

  async finish(): Promise<CompressedFile> {
    // Node's zstd stream, ended while writes are still queued, ends the frame with the last write
    // and then emits a second, empty 13-byte frame; tshark 4.0 reports such a file as damaged.
    await this.lastWrite;
    this.compressor.end();
    await this.done;
    await fsyncFile(this.tempPath);
    return {
      tempPath: this.tempPath,
      size: this.tap.size,
      sha256: this.tap.sha256.digest('hex'),
    };
  }

  async abort(): Promise<void> {
    this.compressor.destroy();
    await this.done.catch(() => undefined);
    await rm(this.tempPath, { force: true });
  }
}
