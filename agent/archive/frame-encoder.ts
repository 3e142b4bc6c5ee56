/**
 * One long-lived native compression context that turns a block into one complete frame (a zstd
 * frame, or a raw deflate stream for a gzip member) written into a buffer the caller owns.
 *
 * Why not node:zlib's one-shot zstdCompressSync/deflateRawSync: each call builds a new context and
 * returns freshly allocated output. In a new process that memory is new to the kernel, and the
 * page faults cost more than the compression: packing the 225 MB bench capture in 1 MiB frames on
 * one core took 1.00-1.37 s one-shot (17,000-21,000 page faults), 0.69-0.88 s with one context
 * and one reused output buffer (430 faults), where `zstd -1 -T1` takes 0.57-0.79 s.
 *
 * node:zlib has no public call for this, so it drives the engine's native handle the way
 * node:zlib's own processChunkSync does (`_handle.writeSync` and `_writeState`, Node 22-24). Where
 * that handle is missing (a future Node), it falls back to the one-shot call and copies.
 *
 * This class must stay self-contained (no imports, no helpers outside it): the frame workers run
 * its source text (frame-workers.ts).
 */
export type FrameCodecName = 'zstd' | 'deflate';

interface NativeHandle {
  writeSync(flush: number, input: Uint8Array, inOffset: number, inLength: number, out: Uint8Array, outOffset: number, outLength: number): void;
  reset(): void;
}

export class FrameEncoder {
  private readonly engine: import('node:stream').Transform;
  private readonly handle: NativeHandle | undefined;
  private readonly state: Uint32Array | undefined;
  private readonly finishFlag: number;
  private failure: Error | undefined;

  /** Room that always holds one frame of `length` input bytes (above zstd's and deflate's bounds). */
  static bound(length: number): number {
    return length + (length >> 7) + 1024;
  }

  constructor(
    private readonly zlib: typeof import('node:zlib'),
    readonly codec: FrameCodecName,
    readonly level: number,
    /** False forces the one-shot fallback (tests). */
    useNativeHandle = true,
  ) {
    const c = zlib.constants;
    this.engine =
      codec === 'zstd'
        ? zlib.createZstdCompress({ params: { [c.ZSTD_c_compressionLevel]: level, [c.ZSTD_c_checksumFlag]: 1 } })
        : zlib.createDeflateRaw({ level, memLevel: 9 });
    this.finishFlag = codec === 'zstd' ? c.ZSTD_e_end : c.Z_FINISH;
    const internals = this.engine as unknown as { _handle?: Partial<NativeHandle>; _writeState?: unknown };
    const handle = internals._handle;
    if (useNativeHandle && typeof handle?.writeSync === 'function' && typeof handle.reset === 'function' && internals._writeState instanceof Uint32Array) {
      this.handle = handle as NativeHandle;
      this.state = internals._writeState;
    }
    // node:zlib reports a native failure as an 'error' event on the engine; it is rethrown by encodeInto.
    this.engine.on('error', (error: Error) => {
      this.failure = error;
    });
  }

  /** True after a native failure: the context is gone, and a new encoder must take its place. */
  get broken(): boolean {
    return this.failure !== undefined;
  }

  /**
   * One frame of `input` in `memory` (from offset 0), or in a new buffer of at least `allocate`
   * bytes when `memory` is missing or smaller than bound(): the frame workers and the calling
   * thread both compress this way. `crc` is the input's CRC-32 for deflate (the gzip trailer), 0
   * for zstd.
   */
  encodeFrame(input: Uint8Array, memory: ArrayBuffer | undefined, allocate: number): { memory: ArrayBuffer; length: number; crc: number } {
    const bound = FrameEncoder.bound(input.length);
    const room = memory && memory.byteLength >= bound ? memory : new ArrayBuffer(Math.max(bound, allocate));
    const length = this.encodeInto(input, Buffer.from(room));
    if (length < 0) throw new Error('frame larger than its bound');
    return { memory: room, length, crc: this.codec === 'deflate' ? this.zlib.crc32(input) : 0 };
  }

  /**
   * Compresses all of `input` as one complete frame into `out` from offset 0 and returns the
   * frame's length, or -1 when `out` is too small (nothing usable was written; give at least bound()).
   */
  encodeInto(input: Uint8Array, out: Buffer): number {
    if (!this.handle || !this.state) return this.oneShotInto(input, out);
    let inOffset = 0;
    let inLeft = input.length;
    let outOffset = 0;
    for (;;) {
      this.handle.writeSync(this.finishFlag, input, inOffset, inLeft, out, outOffset, out.length - outOffset);
      if (this.failure) throw this.failure;
      const outLeft = this.state[0]!;
      const inAfter = this.state[1]!;
      outOffset = out.length - outLeft;
      inOffset += inLeft - inAfter;
      inLeft = inAfter;
      // As node:zlib decides: output room left over means the frame is finished.
      if (outLeft !== 0) break;
      // Out of room mid-frame: drop the half-made frame so the next call starts a clean one.
      this.handle.reset();
      return -1;
    }
    // A zstd context starts a new frame after ZSTD_e_end by itself; deflate must be reset.
    if (this.codec === 'deflate') this.handle.reset();
    return outOffset;
  }

  private oneShotInto(input: Uint8Array, out: Buffer): number {
    const c = this.zlib.constants;
    const frame =
      this.codec === 'zstd'
        ? this.zlib.zstdCompressSync(input, {
            params: { [c.ZSTD_c_compressionLevel]: this.level, [c.ZSTD_c_checksumFlag]: 1 },
            pledgedSrcSize: input.length,
          })
        : this.zlib.deflateRawSync(input, { level: this.level, memLevel: 9 });
    if (frame.length > out.length) return -1;
    frame.copy(out, 0);
    return frame.length;
  }
}
