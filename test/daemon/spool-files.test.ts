/**
 * The spool as the only deleter and mover of its files: each step says what it did, or 'gone'
 * when the file was taken meanwhile, so no caller branches on ENOENT. No root, no packing.
 */
import { mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PutRequest, PutResult } from '../../agent/store/store.js';
import { LocalDirectoryStore } from '../../agent/store/local.js';
import { createMetrics } from '../../agent/daemon/metrics.js';
import { writeOutboxEntry, readOutboxEntry } from '../../agent/daemon/outbox-entry.js';
import { Spool, countPcapRecords } from '../../agent/daemon/spool.js';
import { Uploader } from '../../agent/daemon/uploader.js';
import { FlakyStore, collectingLogger, writeVxlanCapture } from './fixtures.js';

const CAPTURE = '1700000000001-20260101T000000.pcap';
const BASE = '20260101T000000.000000000Z-20260101T000059.000000000Z_vxlan-7_s_0123456789abcdef.pcap.zst';

describe('spool file steps', () => {
  let dir: string;
  let spool: Spool;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vd-spool-files-'));
    spool = new Spool(join(dir, 'spool'));
    spool.init();
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** An object, its index and its entry in the outbox, as Spool.pack leaves them. */
  async function outboxObject(packets: number): Promise<{ objectBytes: number; indexBytes: number }> {
    const outbox = spool.path('outbox');
    await writeFile(join(outbox, BASE), Buffer.alloc(300, 1));
    await writeFile(join(outbox, `${BASE}.idx.zst`), Buffer.alloc(40, 2));
    await writeOutboxEntry(outbox, {
      name: `captures/${BASE}`,
      filePath: join(outbox, BASE),
      size: 300,
      sha256: 'ab'.repeat(32),
      contentType: 'application/zstd',
      metadata: {},
      source: 'vxlan-7',
      packets,
      bytes: 1000,
      firstNs: 1n,
      lastNs: 2n,
      corrections: 0,
      frames: 1,
      index: { name: `captures/${BASE}.idx.zst`, filePath: join(outbox, `${BASE}.idx.zst`), size: 40, sha256: 'cd'.repeat(32), contentType: 'application/zstd', flowDetail: 'flows' },
    });
    return { objectBytes: 300, indexBytes: 40 };
  }

  it('evicts a ready capture and counts its packets; a second eviction finds it gone', async () => {
    await writeVxlanCapture(spool.path('ready', CAPTURE), { count: 25, vni: 7, startSec: 1_790_000_000 });
    const bytes = (await stat(spool.path('ready', CAPTURE))).size;
    expect(await spool.evict('ready', CAPTURE)).toEqual({ kind: 'capture', file: CAPTURE, bytes, packets: 25 });
    expect(await spool.list('ready')).toEqual([]);
    expect(await spool.evict('ready', CAPTURE)).toBe('gone');
  });

  it('evicts an outbox object with its index and entry, entry first; gone once taken', async () => {
    const { objectBytes, indexBytes } = await outboxObject(17);
    expect(await spool.evict('outbox', BASE)).toEqual({ kind: 'object', file: `captures/${BASE}`, bytes: objectBytes + indexBytes, packets: 17 });
    expect(await readdir(spool.path('outbox'))).toEqual([]);
    expect(await spool.evict('outbox', BASE)).toBe('gone');
  });

  it('an object the uploader finished meanwhile is gone, not evicted, and its receipt stays', async () => {
    await outboxObject(3);
    const [entry] = await spool.listOutbox();
    expect(await spool.holds(entry!)).toBe(true);
    await spool.markUploaded(entry!);
    expect(await spool.holds(entry!)).toBe(false);
    expect(await spool.evict('outbox', BASE)).toBe('gone');
    expect(await spool.list('uploaded')).toEqual([`${BASE}.json`]);
    expect(await readOutboxEntry(spool.path('uploaded'), BASE)).toMatchObject({ name: `captures/${BASE}`, packets: 3 });
  });

  it('the uploader skips an object evicted under it: no failure counted, no back-off', async () => {
    await outboxObject(5);
    const spoolRef = spool;
    // The quota evicts the object just as the put starts reading it (the local store then meets ENOENT).
    class EvictingStore extends FlakyStore {
      override async put(request: PutRequest): Promise<PutResult> {
        expect(await spoolRef.evict('outbox', BASE)).toMatchObject({ kind: 'object', packets: 5 });
        return super.put(request);
      }
    }
    const store = new EvictingStore(new LocalDirectoryStore(join(dir, 'archive')));
    const metrics = createMetrics();
    const uploader = new Uploader(spool, store, collectingLogger().logger, metrics, { maxBackoffMs: 100 });
    await uploader.drainOnce();
    expect(uploader.consecutiveFailures).toBe(0);
    expect((await metrics.uploadErrors.get()).values.reduce((sum, v) => sum + v.value, 0)).toBe(0);
    expect(await readdir(spool.path('outbox'))).toEqual([]);
    expect(await store.head(`captures/${BASE}`)).toBeUndefined();
  });

  it('moves, discards and rejects, answering gone for a file that is not there', async () => {
    await writeFile(spool.path('ready', CAPTURE), 'x');
    expect(await spool.move('ready', 'processing', CAPTURE)).toBe('moved');
    expect(await spool.move('ready', 'processing', CAPTURE)).toBe('gone');
    expect(await spool.discard('processing', CAPTURE)).toBe('discarded');
    expect(await spool.discard('processing', CAPTURE)).toBe('gone');
    expect(await spool.list('processing')).toEqual([]);

    await writeFile(spool.path('processing', CAPTURE), 'not a pcap');
    expect(await spool.reject(CAPTURE, { capture: CAPTURE, reason: 'not a pcap' })).toBe('moved');
    expect((await spool.list('rejected')).sort()).toEqual([CAPTURE, `${CAPTURE}.json`]);
    expect(JSON.parse(await readFile(spool.path('rejected', `${CAPTURE}.json`), 'utf8'))).toEqual({ capture: CAPTURE, reason: 'not a pcap' });
  });

  it('start-up removes temp files an earlier process left in the spool root, never one of its own', async () => {
    const old = join(spool.dir, '.state.json.0123abcd.tmp');
    const fresh = join(spool.dir, '.tcpdump.pid.00004d2f.tmp');
    await writeFile(old, '{');
    await writeFile(fresh, '1234');
    await utimes(old, new Date(performance.timeOrigin - 60_000), new Date(performance.timeOrigin - 60_000));
    await writeFile(join(spool.dir, 'state.json'), '{}');
    await spool.recover();
    expect((await readdir(spool.dir)).sort()).toEqual(
      ['.tcpdump.pid.00004d2f.tmp', 'conflict', 'incoming', 'outbox', 'processing', 'ready', 'rejected', 'state.json', 'uploaded', 'work'],
    );
  });

  it('counts the records of a pcap through the pcap parser; not a pcap counts none', async () => {
    const path = join(dir, 'c.pcap');
    await writeVxlanCapture(path, { count: 9, vni: 1, startSec: 1_790_000_000 });
    expect(await countPcapRecords(path)).toBe(9);
    await writeFile(path, 'GET / HTTP/1.1\r\n\r\n');
    expect(await countPcapRecords(path)).toBe(0);
    await writeFile(path, '');
    expect(await countPcapRecords(path)).toBe(0);
  });
});
