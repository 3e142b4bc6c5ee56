// An open object holds one decoded frame at a time: a planned read joins adjacent frames (up to
// 4 MiB), and the reader decodes them one by one as the merge asks for packets, not all at once.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObjectReader } from '../../agent/retrieve/object-reader.js';
import { emptyStats, planObject, type FetchContext } from '../../agent/retrieve/plan.js';
import { selectObjects } from '../../agent/retrieve/select.js';
import { LocalDirectoryStore } from '../../agent/store/local.js';
import { archiveSource } from '../../testkit/real-archive.js';
import { syntheticRecords } from '../../testkit/synthetic-traffic.js';

const START = 1_795_132_800n * 1_000_000_000n;
let dir: string;
let store: LocalDirectoryStore;
const COUNT = 600;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'object-reader-'));
  store = new LocalDirectoryStore(join(dir, 'store'));
  const records = syntheticRecords({ startNs: START, stepNs: 10_000_000n, count: COUNT, seed: 7, flows: 20 });
  await archiveSource(store, dir, records, 600, { source: 'vxlan-5', sink: 's1', frameSize: 4096 });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('object reader', () => {
  it('decodes the frames of one ranged read one at a time, as packets are asked for', async () => {
    const window = { fromNs: START, toNs: START + 60_000_000_000n };
    const [object, ...more] = await selectObjects(store, { ...window, prefix: 'captures/', sources: [], sinks: [] });
    expect(more).toHaveLength(0);
    const ctx: FetchContext = { store, filter: undefined, ...window, stats: emptyStats(), warn: (message) => expect.fail(message) };
    const plan = await planObject(ctx, object!);
    expect(plan.reads).toHaveLength(1); // adjacent frames: one GET
    const frames = plan.reads[0]!.frames.length;
    expect(frames).toBeGreaterThan(5);
    const reader = new ObjectReader(ctx, plan);
    expect(await reader.next()).toBeDefined();
    expect(ctx.stats.framesRead).toBe(1);
    let packets = 1;
    while (await reader.next()) packets += 1;
    expect(packets).toBe(COUNT);
    expect(ctx.stats.framesRead).toBe(frames);
  });
});
