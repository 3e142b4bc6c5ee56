// Small and multipart objects round-trip byte-identical with their metadata, with API-key and with
// instance-principal authentication, through the unmodified SDK against the stand-in.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OciStoreOptions } from '../../agent/store/oci/index.js';
import { makeApiKey, startStandin, type OciStandin } from '../../testkit/oci-standin/index.js';
import { archiveFile, MiB, openWithConfigFile, openWithInstancePrincipal, readAll, tempDir, writeOciConfig, type Opened } from './oci-fixtures.js';

const modes = [
  { auth: 'config-file (API key)', principal: 'api-key' },
  { auth: 'instance principal', principal: 'session' },
] as const;

describe.each(modes)('OciObjectStore with $auth', ({ principal }) => {
  let standin: OciStandin;
  let dir: string;
  let opened: Opened;
  let reopen: (extra: Partial<OciStoreOptions>) => Promise<Opened>;

  beforeAll(async () => {
    dir = tempDir();
    standin = await startStandin({ buckets: ['archive'], instancePrincipals: principal === 'session' });
    if (principal === 'api-key') {
      const key = makeApiKey();
      standin.addApiKey(key);
      const configFile = writeOciConfig(dir, key, standin.region);
      reopen = (extra) => openWithConfigFile(standin, configFile, extra);
    } else {
      reopen = (extra) => openWithInstancePrincipal(standin, extra);
    }
    opened = await reopen({ multipartThreshold: 8 * MiB, partSize: 5 * MiB, parallelParts: 3 });
  });
  afterAll(async () => {
    await standin?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('looked up the namespace and region and names its location', () => {
    expect(opened.store.location).toBe(`oci://${standin.namespace}/archive`);
    expect(opened.store.region).toBe(standin.region);
    expect(standin.requests('GetNamespace').length).toBe(1);
  });

  it('puts a small object with one PutObject, metadata, Content-MD5, If-None-Match and no Content-Encoding', async () => {
    const file = archiveFile(dir, 'captures/2026/11/21/14/sink-a.vxlan-1234.pcap.gz', 300_000);
    const result = await opened.store.put(file);
    expect(result).toEqual({ name: file.name, size: file.size, alreadyPresent: false });

    const puts = standin.requests('PutObject');
    expect(puts).toHaveLength(1);
    const sent = puts[0]!;
    expect(sent.status).toBe(200);
    expect(sent.principal).toBe(principal);
    expect(sent.headers['content-md5']).toBe(file.md5);
    expect(sent.headers['if-none-match']).toBe('*');
    expect(sent.headers['content-type']).toBe('application/gzip');
    expect(sent.headers['content-encoding']).toBeUndefined();
    expect(sent.headers['opc-meta-sha256']).toBe(file.sha256);
    expect(standin.requests('CreateMultipartUpload')).toHaveLength(0);

    const stored = standin.buckets.get('archive')!.objects.get(file.name)!;
    expect(stored.data.equals(file.bytes)).toBe(true);

    const info = await opened.store.head(file.name);
    expect(info).toMatchObject({ name: file.name, size: file.size, sha256: file.sha256 });
    expect(info!.metadata).toEqual({ ...file.metadata, sha256: file.sha256 });
    expect((await readAll(await opened.store.get(file.name))).equals(file.bytes)).toBe(true);
  });

  it('puts a large object in parallel parts and gets it back byte-identical, also by range', async () => {
    const file = archiveFile(dir, 'captures/2026/11/21/14/sink-a.all.pcap.gz', 17 * MiB + 123);
    const result = await opened.store.put(file);
    expect(result.alreadyPresent).toBe(false);

    const parts = standin.requests('UploadPart').filter((entry) => entry.path.endsWith(file.name));
    expect(parts.map((entry) => Number(entry.query.uploadPartNum)).sort((a, b) => a - b)).toEqual([1, 2, 3, 4]);
    expect(parts.every((entry) => entry.headers['content-md5'] && entry.principal === principal)).toBe(true);
    const commit = standin.requests('CommitMultipartUpload').at(-1)!;
    expect(commit.status).toBe(200);
    expect(commit.headers['if-none-match']).toBe('*');
    expect(standin.buckets.get('archive')!.uploads.size).toBe(0);

    const info = await opened.store.head(file.name);
    expect(info).toMatchObject({ size: file.size, sha256: file.sha256 });
    expect(info!.metadata.vni).toBe('1234');
    expect((await readAll(await opened.store.get(file.name))).equals(file.bytes)).toBe(true);

    const middle = await readAll(await opened.store.get(file.name, { start: 5 * MiB - 10, end: 5 * MiB + 9 }));
    expect(middle.equals(file.bytes.subarray(5 * MiB - 10, 5 * MiB + 10))).toBe(true);
    const tail = await readAll(await opened.store.get(file.name, { start: file.size - 100 }));
    expect(tail.equals(file.bytes.subarray(file.size - 100))).toBe(true);
    expect(standin.requests('GetObject').at(-1)!.status).toBe(206);
  });

  it('lists by prefix and [start, end) with metadata, in name order', async () => {
    for (const name of ['list/a/1.gz', 'list/a/2.gz', 'list/b/1.gz', 'list/c+d &e/1.gz']) {
      await opened.store.put(archiveFile(dir, name, 100));
    }
    const names = async (options: Parameters<typeof opened.store.list>[0]) => {
      const found: string[] = [];
      for await (const info of opened.store.list(options)) found.push(info.name);
      return found;
    };
    expect(await names({ prefix: 'list/' })).toEqual(['list/a/1.gz', 'list/a/2.gz', 'list/b/1.gz', 'list/c+d &e/1.gz']);
    expect(await names({ prefix: 'list/a/' })).toEqual(['list/a/1.gz', 'list/a/2.gz']);
    expect(await names({ prefix: 'list/', start: 'list/a/2.gz', end: 'list/c' })).toEqual(['list/a/2.gz', 'list/b/1.gz']);
    expect(await names({ prefix: 'list/c+d &e/' })).toEqual(['list/c+d &e/1.gz']);
    for await (const info of opened.store.list({ prefix: 'list/b/' })) {
      expect(info.metadata.sink).toBe('sink-a');
      expect(info.sha256).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  it('pages through more than one ListObjects page', async () => {
    const bucket = standin.buckets.get('archive')!;
    const template = bucket.objects.get('list/a/1.gz')!;
    for (let i = 0; i < 1003; i += 1) {
      const name = `paged/${String(i).padStart(5, '0')}.gz`;
      bucket.objects.set(name, { ...template, name });
    }
    const before = standin.requests('ListObjects').length;
    const names: string[] = [];
    for await (const info of opened.store.list({ prefix: 'paged/', metadata: false })) names.push(info.name);
    expect(names).toHaveLength(1003);
    expect(names[1002]).toBe('paged/01002.gz');
    expect(standin.requests('ListObjects').length - before).toBe(2);
  });

  it('lists names and sizes from the listing alone, without a HEAD per object', async () => {
    const file = archiveFile(dir, 'sizes/a.gz', 321);
    await opened.store.put(file);
    const heads = standin.requests('HeadObject').length;
    const listed = [];
    for await (const info of opened.store.list({ prefix: 'sizes/', metadata: false })) listed.push(info);
    expect(listed).toEqual([{ name: 'sizes/a.gz', size: 321, metadata: {}, timeCreated: expect.any(Date) }]);
    expect(standin.requests('HeadObject').length).toBe(heads);
    expect(standin.requests('ListObjects').at(-1)!.query).toMatchObject({ fields: 'name,size,timeCreated' });
  });
});
