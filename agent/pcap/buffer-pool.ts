/**
 * A few reusable buffers of one size. The packer streams gigabytes through 1 MiB blocks and 4 MiB
 * read buffers; allocating each anew made V8 run a full GC every ~100 MB ("external memory
 * pressure"), which cost the agent about a quarter of a core at 1.5 Gbps.
 */
export class BufferPool {
  private readonly free: Buffer[] = [];

  constructor(
    readonly size: number,
    private readonly keep: number,
  ) {}

  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafe(this.size);
  }

  /** Only for a buffer nothing references any more; others of a different size are ignored. */
  give(buffer: Buffer): void {
    if (buffer.byteLength === this.size && buffer.byteOffset === 0 && this.free.length < this.keep) this.free.push(buffer);
  }
}
