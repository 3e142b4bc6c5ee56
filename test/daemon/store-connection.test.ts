/**
 * The agent opens its store in the background: with Object Storage (the OCI stand-in, through the
 * real SDK) unreachable at start, uploads wait in the spool, the opening is retried, and once the
 * service answers the backlog goes up. And the directory store clears temp files a crash left.
 */
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packCapture } from '../../agent/archive/pack.js';
import { createMetrics } from '../../agent/daemon/metrics.js';
import { Spool } from '../../agent/daemon/spool.js';
import { StoreConnection } from '../../agent/daemon/store-connection.js';
import { Uploader } from '../../agent/daemon/uploader.js';
import { LocalDirectoryStore } from '../../agent/store/local.js';
import { OciObjectStore } from '../../agent/store/oci/index.js';
import { makeApiKey, startStandin, type OciStandin } from '../../testkit/oci-standin/index.js';
import { waitFor } from '../../testkit/wait.js';
import { fastRetry, writeOciConfig } from '../store/oci-fixtures.js';
import { collectingLogger, writeVxlanCapture } from './fixtures.js';

describe('store opened in the background', () => {
  let dir: string;
  let standin: OciStandin;
  let configFile: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vd-store-conn-'));
    standin = await startStandin({ buckets: ['archive'] });
    const key = makeApiKey();
    standin.addApiKey(key);
    configFile = writeOciConfig(dir, key, standin.region);
  });
  afterAll(async () => {
    await standin?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('Object Storage unreachable at start: the backlog waits, opening is retried, then it drains', async () => {
    // Every request is cut off, as during an outage (GetNamespace and ListObjects included).
    standin.faults.add({ times: 1_000_000, action: { drop: true } });
    const spool = new Spool(join(dir, 'spool'));
    spool.init();
    const file = '1700000000001-20260101T000000.pcap';
    await writeVxlanCapture(spool.path('ready', file), { count: 100, vni: 6060, startSec: 1_790_000_000 });
    await spool.move('ready', 'processing', file);
    await spool.pack(file, packCapture, { decap: 'vxlan', split: 'vni', unknown: 'keep', codec: 'zstd', sink: 's', prefix: 'captures/' });

    const { logger, lines } = collectingLogger();
    const opened: string[] = [];
    const connection = new StoreConnection(
      {
        url: `oci://-/archive?auth=config-file&endpoint=${encodeURIComponent(standin.url)}`,
        open: () => OciObjectStore.open({ bucket: 'archive', auth: { kind: 'config-file', configFile }, endpoint: standin.url, retry: fastRetry }),
        onOpen: (store) => opened.push(store.location),
        maxBackoffMs: 200,
      },
      logger,
    );
    connection.connect();
    const uploader = new Uploader(spool, connection, logger, createMetrics(), { maxBackoffMs: 100 });
    expect(await uploader.drainOnce()).toBe(false);
    await waitFor(() => connection.attempts >= 3, 20_000, 'three attempts to open the store');
    expect(connection.isOpen).toBe(false);
    expect(connection.problem).toBeDefined();
    expect(connection.location).toBe('oci://-/archive');
    expect(await spool.listOutbox()).toHaveLength(1);
    // Said once, not once per attempt.
    expect(lines.filter((line) => String(line.msg).startsWith('cannot open the store')).length).toBe(1);

    standin.faults.clear();
    await connection.opened;
    expect(connection.isOpen).toBe(true);
    expect(opened).toEqual([`oci://${standin.namespace}/archive`]);
    await uploader.drainOnce();
    expect(await spool.listOutbox()).toEqual([]);
    // The object, then its index (uploaded only after the store confirmed the object).
    expect([...standin.buckets.get('archive')!.objects.keys()]).toEqual([
      expect.stringMatching(/_vxlan-6060_s_[0-9a-f]{12}\.pcap\.zst$/),
      expect.stringMatching(/_vxlan-6060_s_[0-9a-f]{12}\.pcap\.zst\.idx\.zst$/),
    ]);
    connection.stop();
  });

  it('stops retrying when the agent stops', async () => {
    const { logger } = collectingLogger();
    const connection = new StoreConnection({ url: 'oci://x/y', open: () => Promise.reject(new Error('unreachable')), maxBackoffMs: 60_000 }, logger);
    connection.connect();
    await waitFor(() => connection.attempts >= 1, 5000, 'a first attempt');
    connection.stop();
    await connection.opened; // resolves although the store never opened
    expect(connection.isOpen).toBe(false);
    await expect(connection.head('a')).rejects.toThrow(/store not open yet: unreachable/);
  });
});

describe('directory store temp files', () => {
  it('removes temp files of interrupted puts that are older than the safe age, and nothing else', async () => {
    const root = await mkdtemp(join(tmpdir(), 'vd-local-tmp-'));
    try {
      const hour = join(root, 'captures', '2026', '01', '01', '00');
      await mkdir(hour, { recursive: true });
      // Today's hidden temp names (fs/durable) for a copy and its metadata, and two of older agents.
      for (const name of ['.a.pcap.zst.0123abcd.tmp', '.a.pcap.zst.meta.json.4567cdef.tmp', '.tmp-0123456789ab', 'a.pcap.zst.meta.json.89abcdef.tmp', 'a.pcap.zst', 'a.pcap.zst.meta.json']) await writeFile(join(hour, name), 'x');
      const store = new LocalDirectoryStore(root);
      // Fresh temp files may belong to a put in progress: kept.
      expect(await store.removeStaleTempFiles(60 * 60 * 1000)).toBe(0);
      // An hour later (ctime cannot be set back, so the clock moves on instead).
      await utimes(join(hour, 'a.pcap.zst'), new Date(0), new Date(0)); // mtime alone does not count
      expect(await store.removeStaleTempFiles(60 * 60 * 1000, Date.now() + 2 * 60 * 60 * 1000)).toBe(4);
      expect((await readdir(hour)).sort()).toEqual(['a.pcap.zst', 'a.pcap.zst.meta.json']);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
