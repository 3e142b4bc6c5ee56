/**
 * Decompression of multi-frame zstd. Node's zstd decompressor (stream, sync and async alike, Node
 * 22-24) stops at the end of the first frame and drops the rest, but archive objects are many
 * frames. This walks the frame boundaries as bytes stream past (RFC 8878 3.1: frame header, block
 * headers, optional checksum; skippable frames are skipped) and gives each frame its own
 * decompressor, so memory stays at one chunk's output however large a frame is.
 */
import { Duplex, type Transform } from 'node:stream';
import { once } from 'node:events';
import { createZstdDecompress } from 'node:zlib';

const ZSTD_MAGIC = 0xfd2fb528;

const enum State {
  Header,
  BlockHeader,
  BlockBody,
  Checksum,
  Skip,
}

/** Where the byte stream stands inside its sequence of zstd frames. */
export class ZstdFrameCursor {
  private state = State.Header;
  private readonly head = Buffer.alloc(18);
  private headUsed = 0;
  private headNeed = 5;
  private remaining = 0;
  private lastBlock = false;
  private checksum = false;
  /** True while inside a skippable frame (its bytes are not zstd data). */
  skippable = false;

  /** At the first byte of a frame (nothing of it consumed yet). */
  get atFrameStart(): boolean {
    return this.state === State.Header && this.headUsed === 0;
  }

  /**
   * Consumes bytes of `chunk` from `at` up to the end of the current frame or of the chunk.
   * Returns how many were consumed and whether they finished a frame.
   */
  advance(chunk: Buffer, at: number): { consumed: number; frameEnded: boolean } {
    const start = at;
    while (at < chunk.length) {
      if (this.state === State.Header || this.state === State.BlockHeader) {
        const take = Math.min(this.headNeed - this.headUsed, chunk.length - at);
        chunk.copy(this.head, this.headUsed, at, at + take);
        this.headUsed += take;
        at += take;
        if (this.headUsed < this.headNeed) break;
        if (this.state === State.Header) this.onHeaderBytes();
        else this.onBlockHeader();
        if (this.state === State.Header && this.headUsed === 0) return { consumed: at - start, frameEnded: true };
        continue;
      }
      const take = Math.min(this.remaining, chunk.length - at);
      at += take;
      this.remaining -= take;
      if (this.remaining > 0) break;
      if (this.state === State.BlockBody && !this.lastBlock) this.expectBlockHeader();
      else if (this.state === State.BlockBody && this.checksum) {
        this.state = State.Checksum;
        this.remaining = 4;
      } else {
        this.expectFrame();
        return { consumed: at - start, frameEnded: true };
      }
    }
    return { consumed: at - start, frameEnded: false };
  }

  private onHeaderBytes(): void {
    const magic = this.head.readUInt32LE(0);
    if ((magic & 0xfffffff0) === 0x184d2a50) {
      this.skippable = true;
      if (this.headNeed < 8) {
        this.headNeed = 8;
        return;
      }
      this.state = State.Skip;
      this.remaining = this.head.readUInt32LE(4);
      this.headUsed = -1; // not at a frame start
      if (this.remaining === 0) this.expectFrame();
      return;
    }
    if (magic !== ZSTD_MAGIC) throw new Error(`not a zstd frame (magic 0x${magic.toString(16)})`);
    const descriptor = this.head[4]!;
    const singleSegment = (descriptor >> 5) & 1;
    const fcsFlag = descriptor >> 6;
    const need = 5 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][descriptor & 3]! + (fcsFlag === 0 ? (singleSegment ? 1 : 0) : [1, 2, 4, 8][fcsFlag]!);
    if (this.headNeed < need) {
      this.headNeed = need;
      return;
    }
    this.checksum = ((descriptor >> 2) & 1) === 1;
    this.expectBlockHeader();
  }

  private onBlockHeader(): void {
    const header = this.head[0]! | (this.head[1]! << 8) | (this.head[2]! << 16);
    this.lastBlock = (header & 1) === 1;
    const type = (header >> 1) & 3;
    this.state = State.BlockBody;
    this.remaining = type === 1 ? 1 : header >> 3;
    this.headUsed = -1;
  }

  private expectBlockHeader(): void {
    this.state = State.BlockHeader;
    this.headUsed = 0;
    this.headNeed = 3;
  }

  private expectFrame(): void {
    this.state = State.Header;
    this.headUsed = 0;
    this.headNeed = 5;
    this.skippable = false;
  }
}

/**
 * A zstd decompressor for any number of concatenated frames (what `zstd -dc` does): each frame
 * through its own node:zlib decompressor, in order.
 */
export function createMultiFrameZstdDecompress(chunkSize: number): Duplex {
  return Duplex.from(async function* (source: AsyncIterable<Buffer>) {
    const cursor = new ZstdFrameCursor();
    let inner: Transform | undefined;
    let out: Buffer[] = [];
    const open = (): Transform => {
      const decoder = createZstdDecompress({ chunkSize });
      decoder.on('data', (piece: Buffer) => out.push(piece));
      return decoder;
    };
    const close = async (): Promise<void> => {
      if (!inner) return;
      const ended = once(inner, 'end');
      inner.end();
      await ended;
      inner = undefined;
    };
    // A frame's first 8 bytes are kept together, so a skippable frame is known before any of it is fed.
    let carry: Buffer | undefined;
    const feed = async function* (chunk: Buffer, final: boolean) {
      let at = 0;
      while (at < chunk.length) {
        if (!final && cursor.atFrameStart && chunk.length - at < 8) {
          carry = chunk.subarray(at);
          return;
        }
        const skipping = cursor.skippable;
        const { consumed, frameEnded } = cursor.advance(chunk, at);
        if (!skipping && !cursor.skippable && consumed > 0) {
          inner ??= open();
          if (!inner.write(chunk.subarray(at, at + consumed))) await once(inner, 'drain');
        }
        at += consumed;
        if (frameEnded) await close();
        if (out.length > 0) {
          const ready = out;
          out = [];
          yield* ready;
        }
      }
    };
    for await (const piece of source) {
      const chunk = carry ? Buffer.concat([carry, piece]) : piece;
      carry = undefined;
      yield* feed(chunk, false);
    }
    if (carry) yield* feed(carry, true);
    // node:zlib's zstd decoder ends quietly on a frame cut short: an object cut mid-frame is damage.
    if (!cursor.atFrameStart) throw new Error('unexpected end of data: the last zstd frame is cut short');
    await close();
    yield* out;
  });
}
