import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CompressedFileWriter } from '../../agent/archive/compressed-file.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('compressed file writer', () => {
  it('fails finish() when an early flush to disk failed, even though the final fsync succeeds', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vtap-cfile-'));
    // Linux reports a writeback error to one fsync per descriptor: the final one may then pass.
    const probe = await open(join(dir, 'probe'), 'w');
    const fileHandle = Object.getPrototypeOf(probe) as { datasync: () => Promise<void> };
    await probe.close();
    vi.spyOn(fileHandle, 'datasync').mockRejectedValue(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    const file = new CompressedFileWriter(dir, 'zstd');
    // 24 MiB of incompressible blocks: past the 16 MiB at which the writer flushes early.
    for (let i = 0; i < 24; i += 1) {
      file.write(randomBytes(1 << 20));
      if (file.needsDrain) await file.drain();
    }
    await expect(file.finish()).rejects.toThrow(/EIO/);
    await file.abort();
    expect((await readdir(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });
});
