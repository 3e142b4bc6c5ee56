import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CompressedFileWriter } from '../../agent/archive/compressed-file.js';
import type { Codec } from '../../agent/archive/types.js';
import { PcapBlockWriter } from '../../agent/pcap/writer.js';

const execFileP = promisify(execFile);

/**
 * The packer recycles its 1 MiB blocks once the compressor says it has taken them in, and the
 * compressor recycles the memory of each compressed frame once the file writer says it is written.
 * Pushing 48 MB through one stream cycles every pooled buffer many times; a block handed back too
 * early (zstd still reading it, or a gzip segment still deflating), or a frame's memory reused
 * while its write is still in flight, would show up as corrupted output.
 */
describe('recycled pcap blocks', () => {
  for (const codec of ['zstd', 'gzip'] as Codec[]) {
    it(`${codec}: what comes out decompresses to exactly what went in`, async () => {
      const dir = await mkdtemp(join(tmpdir(), `vtap-reuse-${codec}-`));
      const file = new CompressedFileWriter(dir, codec);
      const expected: Buffer[] = [];
      const writer = new PcapBlockWriter(1, 65535, true, (block, release) => {
        expected.push(Buffer.from(block)); // a copy, taken before anything can reuse the block
        file.write(block, release);
      });
      // Half random, half repetitive frames, so zstd and gzip both take a while per block.
      const text = Buffer.from('GET /api/v1/items HTTP/1.1\r\nHost: example\r\n\r\n'.repeat(40)).subarray(0, 1400);
      for (let i = 0; i < 34_000; i += 1) {
        const frame = i % 2 ? randomBytes(1400) : text;
        frame.writeUInt32BE(i, 0);
        writer.write(frame, 0, frame.length, 1_763_730_000 + (i >> 10), i, frame.length);
        if (file.needsDrain) await file.drain();
      }
      writer.flush();
      const done = await file.finish();
      const path = join(dir, `out.${codec === 'zstd' ? 'zst' : 'gz'}`);
      await rename(done.tempPath, path);
      const tool = codec === 'zstd' ? ['zstd', ['-dc', path]] : ['gzip', ['-dc', path]];
      const { stdout } = await execFileP(tool[0] as string, tool[1] as string[], { encoding: 'buffer', maxBuffer: 128 * 1024 * 1024 });
      const want = Buffer.concat(expected);
      expect(want.length).toBeGreaterThan(40 * 1024 * 1024);
      expect(stdout.length).toBe(want.length);
      expect(Buffer.compare(stdout, want)).toBe(0);
    });
  }
});
