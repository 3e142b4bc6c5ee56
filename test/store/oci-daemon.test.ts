// The agent's own pipeline (spool -> packCapture -> Uploader) archiving to the OCI stand-in through
// the OCI store: objects land byte-identical with the archive metadata, a 503 burst is ridden out,
// and a restart after a crash finds the object already there instead of writing a second one.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { packCapture } from '../../agent/archive/pack.js';
import type { PackOptions } from '../../agent/archive/types.js';
import { createMetrics } from '../../agent/daemon/metrics.js';
import { Spool } from '../../agent/daemon/spool.js';
import { Uploader } from '../../agent/daemon/uploader.js';
import { collectingLogger, writeVxlanCapture } from '../daemon/fixtures.js';
import { makeApiKey, startStandin, type OciStandin } from '../../testkit/oci-standin/index.js';
import { openWithConfigFile, writeOciConfig, type Opened } from './oci-fixtures.js';

const PACK: PackOptions = { decap: 'vxlan', split: 'vni', unknown: 'keep', codec: 'gzip', sink: 'oci-sink', prefix: 'captures/' };

let dir: string;
let standin: OciStandin;
let opened: Opened;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'oci-daemon-'));
  standin = await startStandin({ buckets: ['archive'] });
  const key = makeApiKey();
  standin.addApiKey(key);
  opened = await openWithConfigFile(standin, writeOciConfig(dir, key, standin.region));
});
afterAll(async () => {
  await standin?.stop();
  await rm(dir, { recursive: true, force: true });
});

it('archives packed captures to Object Storage, riding out a 503 burst, and recognises a re-upload after a crash', async () => {
  const spool = new Spool(join(dir, 'spool'));
  spool.init();
  const file = '1700000000001-20260101T000000.pcap';
  await writeVxlanCapture(spool.path('ready', file), { count: 200, vni: 4242, startSec: 1_790_000_000 });
  await spool.move('ready', 'processing', file);
  await spool.pack(file, packCapture, PACK);
  const [entry] = await spool.listOutbox();
  expect(entry).toBeDefined();
  const local = await readFile(entry!.objectPath);
  const sidecar = await readFile(entry!.sidecarPath);
  const localIndex = await readFile(entry!.index!.path);

  standin.faults.add({ method: 'PUT', path: /^\/n\/.*\/o\/captures\//, times: 3, action: { status: 503 } });
  const { logger } = collectingLogger();
  const uploader = new Uploader(spool, opened.store, logger, createMetrics(), { maxBackoffMs: 100 });
  await uploader.drainOnce();
  expect(await spool.listOutbox()).toEqual([]);

  const stored = standin.buckets.get('archive')!.objects.get(entry!.name)!;
  expect(stored.data.equals(local)).toBe(true);
  expect(stored.contentType).toBe('application/gzip');
  expect(stored.contentEncoding).toBeUndefined();
  expect(stored.metadata).toMatchObject({ vni: '4242', sha256: entry!.sha256, packets: String(entry!.packets) });
  expect(standin.requests('Injected').length).toBe(3);
  // The index went up after the object, through the same create-only, checksummed put.
  const storedIndex = standin.buckets.get('archive')!.objects.get(`${entry!.name}.idx.zst`)!;
  expect(storedIndex.data.equals(localIndex)).toBe(true);
  expect(storedIndex.contentType).toBe('application/zstd');
  expect(storedIndex.metadata).toMatchObject({ object: entry!.name, 'object-sha256': entry!.sha256, sha256: entry!.index!.sha256, 'index-version': '1' });
  expect(stored.metadata).toMatchObject({ index: `${entry!.name}.idx.zst`, frames: '1' });

  // A crash after the puts but before the spool recorded them: object, index and sidecar are back in the outbox.
  await writeFile(entry!.objectPath, local);
  await writeFile(entry!.index!.path, localIndex);
  await writeFile(entry!.sidecarPath, sidecar);
  const etag = stored.etag;
  const indexEtag = storedIndex.etag;
  const again = collectingLogger();
  await new Uploader(spool, opened.store, again.logger, createMetrics(), { maxBackoffMs: 100 }).drainOnce();
  expect(await spool.listOutbox()).toEqual([]);
  expect(standin.buckets.get('archive')!.objects.get(entry!.name)!.etag).toBe(etag);
  expect(standin.buckets.get('archive')!.objects.get(`${entry!.name}.idx.zst`)!.etag).toBe(indexEtag);
  expect(standin.buckets.get('archive')!.objects.size).toBe(2);
  expect(again.lines.some((line) => line.alreadyPresent === true)).toBe(true);
});
