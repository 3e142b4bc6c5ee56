/**
 * The spool, uploader and quota in-process, with real packing (packCapture) and the local directory
 * store, wrapped in a store that can be taken down. No root needed.
 */
import { mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { packCapture } from '../../agent/archive/pack.js';
import type { PackOptions } from '../../agent/archive/types.js';
import { createMetrics, type Metrics } from '../../agent/daemon/metrics.js';
import { Quota } from '../../agent/daemon/quota.js';
import { Spool, compareCaptureNames, countPcapRecords } from '../../agent/daemon/spool.js';
import { Uploader } from '../../agent/daemon/uploader.js';
import { LocalDirectoryStore } from '../../agent/store/local.js';
import { FlakyStore, collectingLogger, writeVxlanCapture } from './fixtures.js';
import { waitFor } from '../../testkit/wait.js';

const PACK: PackOptions = { decap: 'vxlan', split: 'vni', unknown: 'keep', codec: 'zstd', sink: 'test-sink', prefix: 'captures/' };

async function value(metrics: Metrics, name: keyof Metrics, labels: Record<string, string> = {}): Promise<number> {
  const metric = metrics[name] as { get(): Promise<{ values: Array<{ value: number; labels: Record<string, unknown> }> }> };
  const { values } = await metric.get();
  return values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((sum, v) => sum + v.value, 0);
}

describe('spool, uploader and quota', () => {
  let dir: string;
  let spool: Spool;
  let store: FlakyStore;
  let metrics: Metrics;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vd-spool-'));
    spool = new Spool(join(dir, 'spool'));
    spool.init();
    store = new FlakyStore(new LocalDirectoryStore(join(dir, 'archive')));
    metrics = createMetrics();
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Puts a capture in ready/ and packs it into the outbox, as the daemon's pack loop does. */
  async function captureIntoOutbox(file: string, vni: number, count: number, seed = 0): Promise<string[]> {
    const frames = await writeVxlanCapture(spool.path('ready', file), { count, vni, startSec: 1_790_000_000 + seed * 10, seed });
    await spool.move('ready', 'processing', file);
    await spool.pack(file, packCapture, PACK);
    return frames;
  }

  it('orders tcpdump file names by run, period and -C index (not as strings)', () => {
    const names = ['1700000000002-20260101T000000.pcap', '1700000000001-20260101T000005.pcap10', '1700000000001-20260101T000005.pcap2', '1700000000001-20260101T000005.pcap', '1700000000001-20260101T000000.pcap'];
    expect([...names].sort(compareCaptureNames)).toEqual([
      '1700000000001-20260101T000000.pcap',
      '1700000000001-20260101T000005.pcap',
      '1700000000001-20260101T000005.pcap2',
      '1700000000001-20260101T000005.pcap10',
      '1700000000002-20260101T000000.pcap',
    ]);
  });

  it('uploads, and deletes the local object only after the store confirmed size and sha256', async () => {
    const { logger } = collectingLogger();
    await captureIntoOutbox('1700000000001-20260101T000000.pcap', 1234, 50);
    expect(await spool.list('processing')).toEqual([]);
    const [entry] = await spool.listOutbox();
    expect(entry).toBeDefined();
    const uploader = new Uploader(spool, store, logger, metrics, { maxBackoffMs: 100 });

    // A store that answers with another checksum: nothing is deleted, the failure is counted.
    store.tamperHead = true;
    await uploader.drainOnce();
    expect((await spool.listOutbox()).map((e) => e.base)).toEqual([entry!.base]);
    expect((await stat(entry!.objectPath)).size).toBe(entry!.size);
    expect(await value(metrics, 'uploadErrors')).toBe(1);
    expect(uploader.lastFailure).toMatch(/sha256/);

    store.tamperHead = false;
    await uploader.drainOnce();
    expect(await spool.listOutbox()).toEqual([]);
    expect(await spool.list('outbox')).toEqual([]);
    expect(await spool.list('uploaded')).toEqual([`${entry!.base}.json`]);
    const info = await store.head(entry!.name);
    expect(info?.size).toBe(entry!.size);
    expect(info?.sha256 ?? info?.metadata.sha256).toBe(entry!.sha256);
    expect(await value(metrics, 'objectsArchived')).toBe(1);
    // The index went up after its object, with the same checks, and the receipt names both.
    expect(entry!.index?.name).toBe(`${entry!.name}.idx.zst`);
    const index = await store.head(entry!.index!.name);
    expect(index?.size).toBe(entry!.index!.size);
    expect(index?.sha256 ?? index?.metadata.sha256).toBe(entry!.index!.sha256);
    expect(index?.metadata.object).toBe(entry!.name);
    expect(entry!.metadata.index).toBe(entry!.index!.name);
    const receipt = JSON.parse(await readFile(spool.path('uploaded', `${entry!.base}.json`), 'utf8')) as { index?: { name: string; sha256: string } };
    expect(receipt.index).toMatchObject({ name: entry!.index!.name, sha256: entry!.index!.sha256 });
  });

  it('keeps the backlog while the store is down, retries with back-off, and drains when it is back', async () => {
    const { logger, lines } = collectingLogger();
    store.down = true;
    const uploader = new Uploader(spool, store, logger, metrics, { baseBackoffMs: 40, maxBackoffMs: 200 });
    const running = uploader.run();
    const expected: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      await captureIntoOutbox(`170000000000${i}-20260101T00000${i}.pcap`, 100 + i, 30, i);
      uploader.poke();
      await new Promise((r) => setTimeout(r, 150));
      // The backlog grows: nothing leaves the outbox while the store is down.
      expect((await spool.listOutbox()).length).toBe(i + 1);
    }
    expected.push(...(await spool.listOutbox()).flatMap((e) => [e.name, e.index!.name]));
    expect(store.failures).toBeGreaterThanOrEqual(3);
    expect(store.puts).toBe(0);
    // Every failed put is counted once: the store's count and the metric agree whenever no failure
    // is between the store's reply and the uploader's handling of it (the uploader is still retrying).
    await waitFor(async () => (await value(metrics, 'uploadErrors', { kind: 'transient' })) === store.failures, 5000, 'every failed put to be counted');
    expect(await value(metrics, 'uploadErrors', { kind: 'transient' })).toBeLessThanOrEqual(store.failures);
    expect(lines.some((line) => line.level === 'warn' && /failed \(transient/.test(String(line.msg)))).toBe(true);

    store.down = false;
    await waitFor(async () => (await spool.listOutbox()).length === 0, 5000, 'the backlog to drain');
    uploader.stop();
    await running;
    const stored: string[] = [];
    for await (const info of store.list()) stored.push(info.name);
    expect(stored.sort()).toEqual(expected.sort());
    expect(uploader.consecutiveFailures).toBe(0);
    expect(lines.some((line) => line.msg === 'store accepts uploads again')).toBe(true);
  });

  it('evict-oldest: deletes the oldest unsent data until under quota and counts exactly what was lost', async () => {
    const { logger, lines } = collectingLogger();
    // One old packed object in the outbox, then four ready captures, oldest first.
    await captureIntoOutbox('1700000000000-20260101T000000.pcap', 7, 40, 9);
    const [object] = await spool.listOutbox();
    const files = ['1700000000001-20260101T000000.pcap', '1700000000001-20260101T000010.pcap', '1700000000001-20260101T000020.pcap', '1700000000001-20260101T000030.pcap'];
    const base = Date.now() / 1000 - 100;
    await utimes(object!.objectPath, base, base);
    for (const [i, file] of files.entries()) {
      await writeVxlanCapture(spool.path('ready', file), { count: 200 + i, vni: 1, startSec: 1_790_000_000, seed: i });
      await utimes(spool.path('ready', file), base + 10 + i, base + 10 + i);
    }
    const sizes = await Promise.all(files.map(async (f) => (await stat(spool.path('ready', f))).size));
    const used = Quota.used(await spool.usage());
    // Quota just under what is there: 90% of it leaves room for the two newest captures only.
    const quotaBytes = Math.ceil((object!.size + sizes[0]! + sizes[1]! + sizes[2]! + sizes[3]! - 1) / 1);
    expect(used).toBeGreaterThan(quotaBytes - 1);
    const quota = new Quota(spool, { quotaBytes: quotaBytes - 1, reserveBytes: 0, policy: 'evict-oldest' }, logger, metrics);
    const verdict = await quota.enforce(new Set());

    const kept = await spool.list('ready');
    const evictedNames = verdict.evicted.map((e) => e.file);
    expect(evictedNames[0]).toBe(object!.name);
    // The object's index is counted with it and goes with it.
    expect(verdict.evicted[0]!.bytes).toBe(object!.size + object!.index!.size);
    // Oldest first, and only as many as needed to get under 90%.
    expect(kept).toEqual(files.slice(files.length - kept.length));
    expect(verdict.usedBytes).toBeLessThanOrEqual((quotaBytes - 1) * 0.9);
    const keptPlusOne = Quota.used(await spool.usage()) + (sizes[files.length - kept.length - 1] ?? 0);
    expect(keptPlusOne).toBeGreaterThan((quotaBytes - 1) * 0.9);
    expect(verdict.pause).toBe(false);

    const lostPackets = 40 + files.slice(0, files.length - kept.length).reduce((sum, _f, i) => sum + 200 + i, 0);
    expect(verdict.evicted.reduce((sum, e) => sum + e.packets, 0)).toBe(lostPackets);
    expect(await value(metrics, 'evictedPackets')).toBe(lostPackets);
    expect(await value(metrics, 'evictedFiles', { kind: 'object' })).toBe(1);
    expect(await value(metrics, 'evictedFiles', { kind: 'capture' })).toBe(files.length - kept.length);
    expect(await value(metrics, 'evictedBytes')).toBe(verdict.evicted.reduce((sum, e) => sum + e.bytes, 0));
    const logged = lines.filter((line) => line.level === 'error' && String(line.msg).startsWith('spool over quota: evicted'));
    expect(logged.map((line) => (line.evicted as { file: string }).file)).toEqual(evictedNames);
    // The object's sidecar went with it: nothing half-deleted for the uploader to pick up.
    expect(await spool.list('outbox')).toEqual([]);
  });

  it('evict-oldest never touches the object being uploaded', async () => {
    const { logger } = collectingLogger();
    await captureIntoOutbox('1700000000000-20260101T000000.pcap', 7, 40);
    const [object] = await spool.listOutbox();
    const quota = new Quota(spool, { quotaBytes: 1, reserveBytes: 0, policy: 'evict-oldest' }, logger, metrics);
    const verdict = await quota.enforce(new Set([object!.base]));
    expect(verdict.evicted).toEqual([]);
    expect((await spool.listOutbox()).length).toBe(1);
    // Nothing left to evict and still over: capture pauses rather than fill the disk.
    expect(verdict.pause).toBe(true);
  });

  it('pause-capture: pauses over quota, keeps every file, resumes under 80% and logs the window lost', async () => {
    const { logger, lines } = collectingLogger();
    await writeVxlanCapture(spool.path('ready', '1700000000001-20260101T000000.pcap'), { count: 300, vni: 1, startSec: 1_790_000_000 });
    const size = Quota.used(await spool.usage());
    const quota = new Quota(spool, { quotaBytes: size - 1, reserveBytes: 0, policy: 'pause-capture' }, logger, metrics);
    let verdict = await quota.enforce(new Set());
    expect(verdict.pause).toBe(true);
    expect(verdict.evicted).toEqual([]);
    expect(await spool.list('ready')).toHaveLength(1);
    expect(await value(metrics, 'capturePaused')).toBe(1);
    // Uploads caught up (the file was packed and sent): capture resumes.
    await rm(spool.path('ready', '1700000000001-20260101T000000.pcap'));
    verdict = await quota.enforce(new Set());
    expect(verdict.pause).toBe(false);
    expect(await value(metrics, 'capturePaused')).toBe(0);
    const resumed = lines.find((line) => line.msg === 'capture resumed: traffic in this window was not captured');
    expect(resumed?.from).toBeDefined();
    expect(resumed?.to).toBeDefined();
  });

  it('keeps the file-system reserve even under quota', async () => {
    const { logger } = collectingLogger();
    await writeVxlanCapture(spool.path('ready', '1700000000001-20260101T000000.pcap'), { count: 10, vni: 1, startSec: 1_790_000_000 });
    const quota = new Quota(spool, { quotaBytes: 1e12, reserveBytes: 1e15, policy: 'evict-oldest' }, logger, metrics);
    const verdict = await quota.enforce(new Set());
    expect(verdict.evicted.map((e) => e.file)).toEqual(['1700000000001-20260101T000000.pcap']);
    expect(verdict.pause).toBe(true);
  });

  it('counts the complete records of a cut-off capture', async () => {
    const path = join(dir, 'cut.pcap');
    await writeVxlanCapture(path, { count: 20, vni: 1, startSec: 1_790_000_000 });
    const bytes = await readFile(path);
    await writeFile(path, bytes.subarray(0, bytes.length - 5));
    expect(await countPcapRecords(path)).toBe(19);
  });

  it('recovers after a crash mid-pack: scratch wiped, orphan object and index removed, the capture re-packed into the same objects', async () => {
    const file = '1700000000001-20260101T000000.pcap';
    await writeVxlanCapture(spool.path('ready', file), { count: 80, vni: 42, startSec: 1_790_000_000 });
    await spool.move('ready', 'processing', file);
    // First attempt "crashes" after packing: objects sit in work/ only, one object moved without its sidecar.
    const scratch = spool.path('work', `${file}.d`);
    const { mkdir, rename } = await import('node:fs/promises');
    await mkdir(scratch, { recursive: true });
    const first = await packCapture(spool.path('processing', file), scratch, PACK);
    const objectBase = first.objects[0]!.filePath.split('/').pop()!;
    await rename(join(scratch, objectBase), spool.path('outbox', objectBase));
    await rename(join(scratch, `${objectBase}.idx.zst`), spool.path('outbox', `${objectBase}.idx.zst`));

    const recovered = await spool.recover();
    expect(recovered.processing).toEqual([file]);
    expect(recovered.orphans.sort()).toEqual([objectBase, `${objectBase}.idx.zst`]);
    // Each counts once in the backlog, not twice.
    expect((await spool.usage()).outbox.files).toBe(1);
    expect(await readdir(spool.path('work'))).toEqual([]);
    await spool.pack(file, packCapture, PACK);
    await spool.removeOrphans(await spool.outboxOrphans());
    const entries = await spool.listOutbox();
    expect(entries.map((e) => e.name)).toEqual(first.objects.map((o) => o.name));
    expect(entries.map((e) => e.sha256)).toEqual(first.objects.map((o) => o.sha256));
    expect(entries.map((e) => e.index?.sha256)).toEqual(first.objects.map((o) => o.index?.sha256));
    expect(await spool.list('processing')).toEqual([]);
  });
});
