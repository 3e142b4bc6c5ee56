// An object cut mid-frame (a partial upload, a truncated copy) must read as damaged, not as fewer
// packets: node:zlib's zstd decoder ends quietly on a cut frame, so the frame walker checks.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { createMultiFrameZstdDecompress } from '../../agent/archive/zstd-frames.js';

const zstd = (data: Buffer) => execFileSync('zstd', ['-q', '-c', '-3'], { input: data });
const decompress = (data: Buffer, piece = 997) => {
  const chunks: Buffer[] = [];
  for (let at = 0; at < data.length; at += piece) chunks.push(data.subarray(at, at + piece));
  return buffer(Readable.from(chunks).pipe(createMultiFrameZstdDecompress(64 * 1024)));
};

describe('multi-frame zstd cut short', () => {
  const parts = [Buffer.concat([randomBytes(3000), Buffer.alloc(20000, 7)]), Buffer.concat([Buffer.alloc(9000, 1), randomBytes(5000)])];
  const frames = parts.map(zstd);
  const whole = Buffer.concat(frames);

  it('reads whole frames', async () => {
    expect((await decompress(whole)).equals(Buffer.concat(parts))).toBe(true);
    expect((await decompress(frames[0]!)).equals(parts[0]!)).toBe(true);
  });

  it.each([0.1, 0.5, 0.9, 0.999])('rejects the object cut at %d of its second frame', async (share) => {
    const cut = frames[0]!.length + Math.max(1, Math.floor(frames[1]!.length * share));
    await expect(decompress(whole.subarray(0, cut))).rejects.toThrow(/cut short|corrupt|unexpected end/i);
  });

  it('rejects the object cut inside its first frame header', async () => {
    await expect(decompress(whole.subarray(0, 3))).rejects.toThrow();
  });
});
