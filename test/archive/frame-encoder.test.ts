import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { FrameEncoder, type FrameCodecName } from '../../agent/archive/frame-encoder.js';

const execFileP = promisify(execFile);

/** Blocks unlike each other (text, random, zeros, a tiny one), so a frame leaking state into the next shows. */
function blocks(): Buffer[] {
  const text = Buffer.from('GET /api/v1/items?page=7 HTTP/1.1\r\nHost: files.example\r\nAccept: */*\r\n\r\n'.repeat(15_000));
  return [text.subarray(0, 1 << 20), randomBytes(700_000), Buffer.alloc(300_000), text.subarray(5, 900_005), Buffer.from('x')];
}

/** Decodes one frame alone, with the codec's own one-shot decoder (no state shared with anything). */
function decodeAlone(codec: FrameCodecName, frame: Buffer): Buffer {
  return codec === 'zstd' ? zlib.zstdDecompressSync(frame) : zlib.inflateRawSync(frame);
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vtap-encoder-'));
});

describe('frame encoder (one context, frames into reused memory)', () => {
  for (const codec of ['zstd', 'deflate'] as FrameCodecName[]) {
    for (const native of [true, false]) {
      it(`${codec}, ${native ? 'native handle' : 'one-shot fallback'}: every frame decodes alone to its block, out of one reused buffer`, () => {
        const encoder = new FrameEncoder(zlib, codec, 1, native);
        const out = Buffer.alloc(FrameEncoder.bound(1 << 20));
        for (const block of blocks()) {
          const length = encoder.encodeInto(block, out);
          expect(length).toBeGreaterThan(0);
          expect(Buffer.compare(decodeAlone(codec, out.subarray(0, length)), block)).toBe(0);
        }
      });
    }
  }

  it('zstd: frames carry their content size and checksum, and zstd -t / -l accept them concatenated', async () => {
    const encoder = new FrameEncoder(zlib, 'zstd', 1);
    const out = Buffer.alloc(FrameEncoder.bound(1 << 20));
    const input = blocks();
    const frames = input.map((block) => Buffer.from(out.subarray(0, encoder.encodeInto(block, out))));
    for (const frame of frames) {
      // RFC 8878 3.1.1.1.1: Frame_Content_Size_Flag (bits 7-6) or Single_Segment (bit 5) set = size present; bit 2 = checksum.
      const descriptor = frame[4]!;
      expect(descriptor >> 6 !== 0 || ((descriptor >> 5) & 1) === 1).toBe(true);
      expect((descriptor >> 2) & 1).toBe(1);
    }
    const path = join(dir, 'frames.zst');
    await writeFile(path, Buffer.concat(frames));
    await execFileP('zstd', ['-tq', path]);
    const { stdout } = await execFileP('zstd', ['-lv', path]);
    expect(stdout).toMatch(new RegExp(`Zstandard Frames: ${input.length}\\b`));
    const total = input.reduce((sum, block) => sum + block.length, 0);
    expect(stdout).toContain(`(${total} B)`);
  });

  for (const codec of ['zstd', 'deflate'] as FrameCodecName[]) {
    it(`${codec}: an output buffer that is too small gives -1, and the next frame is still whole`, () => {
      const encoder = new FrameEncoder(zlib, codec, 1);
      const random = randomBytes(200_000);
      expect(encoder.encodeInto(random, Buffer.alloc(1000))).toBe(-1);
      const out = Buffer.alloc(FrameEncoder.bound(random.length));
      const length = encoder.encodeInto(random, out);
      expect(Buffer.compare(decodeAlone(codec, out.subarray(0, length)), random)).toBe(0);
    });
  }
});
