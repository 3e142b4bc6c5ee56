// The progress line of fetch: drawn only when stderr is a terminal, with objects and MB done of
// total, rate and ETA; a stream that is not a terminal gets nothing. (The real pseudo-terminal run
// is in fetch.test.ts.)
import { describe, expect, it } from 'vitest';
import { emptyStats } from '../../agent/retrieve/plan.js';
import { Progress } from '../../agent/retrieve/progress.js';

function sink(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, write: (text: string) => writes.push(text) } };
}

describe('fetch progress line', () => {
  it('draws objects and MB done of total, rate and ETA on a terminal, and clears the line at the end', () => {
    let now = 1_000_000;
    const stats = emptyStats();
    const { writes, stream } = sink(true);
    const progress = new Progress(stats, { stream, now: () => now, intervalMs: 60_000 });
    Object.assign(stats, { objectsRead: 3, objectsSelected: 7, downloaded: 2_000_000, windowBytes: 40_000_000 });
    now += 4000;
    progress.hours(1, 4);
    expect(writes).toEqual(['\r\x1b[Khour 1/4, objects 3/7, 2.0 of 40.0 MB, 0.5 MB/s, ETA 12 s']);
    // Another hour within 200 ms: no redraw (a fast listing must not flood the terminal).
    now += 100;
    progress.hours(2, 4);
    expect(writes).toHaveLength(1);
    now += 200;
    progress.hours(3, 4);
    expect(writes[1]).toMatch(/^\r\x1b\[Khour 3\/4, objects 3\/7, 2\.0 of 40\.0 MB, 0\.5 MB\/s, ETA 2 s$/);
    progress.stop();
    expect(writes[writes.length - 1]).toBe('\r\x1b[K');
  });

  it('redraws on its timer while nothing else happens', async () => {
    const { writes, stream } = sink(true);
    const progress = new Progress(emptyStats(), { stream, intervalMs: 20 });
    await new Promise((resolve) => setTimeout(resolve, 150));
    progress.stop();
    expect(writes.filter((w) => w.startsWith('\r\x1b[Khour 0/1')).length).toBeGreaterThanOrEqual(2);
  });

  it('writes nothing when the stream is not a terminal', async () => {
    const { writes, stream } = sink(false);
    const progress = new Progress(emptyStats(), { stream, intervalMs: 10 });
    progress.hours(1, 1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    progress.stop();
    expect(writes).toEqual([]);
  });
});
