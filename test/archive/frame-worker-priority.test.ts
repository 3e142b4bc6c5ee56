import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { compressOnWorker, lowerFrameWorkerPriority } from '../../agent/archive/frame-workers.js';

/** Field 19 of /proc/<...>/stat: the nice value. */
function niceOf(statPath: string): number {
  const stat = readFileSync(statPath, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

describe('frame worker priority (the agent: capture first when cores are short)', () => {
  // One core means no frame workers at all (the calling thread compresses), so nothing to lower.
  it.skipIf(process.platform !== 'linux' || availableParallelism() < 2)('runs frame workers at the lowered nice value and leaves the calling thread as it was', async () => {
    const before = niceOf('/proc/thread-self/stat');
    lowerFrameWorkerPriority(10);
    // Two frames at once: the first starts a worker (the second may be compressed in place).
    await Promise.all([0, 1].map(() => compressOnWorker({ codec: 'zstd', level: 1, data: Buffer.alloc(200_000, 7) })));
    const nices = readdirSync('/proc/self/task').map((tid) => niceOf(`/proc/self/task/${tid}/stat`));
    expect(nices).toContain(10);
    expect(niceOf('/proc/thread-self/stat')).toBe(before);
  });
});
