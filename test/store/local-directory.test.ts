import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { beforeEach, describe, expect, it } from 'vitest';
import { LocalDirectoryStore } from '../../agent/store/local.js';
import { ObjectConflictError } from '../../agent/store/errors.js';
import { openStore } from '../../agent/store/open.js';
import type { PutRequest } from '../../agent/store/store.js';

let dir: string;
let store: LocalDirectoryStore;

async function localFile(name: string, content: string): Promise<PutRequest> {
  const filePath = join(dir, name);
  await writeFile(filePath, content);
  return {
    name: `captures/2025/11/21/13/${name}`,
    filePath,
    size: Buffer.byteLength(content),
    sha256: createHash('sha256').update(content).digest('hex'),
    md5: createHash('md5').update(content).digest('base64'),
    contentType: 'application/gzip',
    metadata: { packets: '3', vni: '1234' },
  };
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vtap-store-'));
  store = new LocalDirectoryStore(join(dir, 'archive'));
});

describe('local directory store', () => {
  it('stores an object with its metadata and gives it back, whole or by range', async () => {
    const request = await localFile('a.pcap.gz', '0123456789abcdef');
    expect(await store.put(request)).toEqual({ name: request.name, size: 16, alreadyPresent: false });
    const info = await store.head(request.name);
    expect(info).toMatchObject({ name: request.name, size: 16, sha256: request.sha256, metadata: { packets: '3', vni: '1234' } });
    expect(await text(await store.get(request.name))).toBe('0123456789abcdef');
    expect(await text(await store.get(request.name, { start: 4, end: 7 }))).toBe('4567');
    expect(await text(await store.get(request.name, { start: 10 }))).toBe('abcdef');
    expect(await store.head('captures/none.pcap.gz')).toBeUndefined();
  });

  it('treats a second put of the same bytes as done, and refuses to overwrite different bytes', async () => {
    const request = await localFile('b.pcap.gz', 'original content');
    await store.put(request);
    expect((await store.put(request)).alreadyPresent).toBe(true);
    const other = await localFile('b2.pcap.gz', 'different content');
    await expect(store.put({ ...other, name: request.name })).rejects.toThrow(ObjectConflictError);
    expect(await readFile(join(dir, 'archive', ...request.name.split('/')), 'utf8')).toBe('original content');
  });

  it('lists in name order with prefix, start and end, hiding metadata and temp files', async () => {
    for (const name of ['c.pcap.gz', 'a.pcap.gz', 'b.pcap.gz']) await store.put(await localFile(name, name));
    await writeFile(join(dir, 'archive/captures/2025/11/21/13/.tmp-half-written'), 'x');
    const all = [];
    for await (const info of store.list({ prefix: 'captures/2025/11/21/' })) all.push(info.name.split('/').pop());
    expect(all).toEqual(['a.pcap.gz', 'b.pcap.gz', 'c.pcap.gz']);
    const window = [];
    for await (const info of store.list({ start: 'captures/2025/11/21/13/b', end: 'captures/2025/11/21/13/c' })) window.push(info.name);
    expect(window).toEqual(['captures/2025/11/21/13/b.pcap.gz']);
    const none = [];
    for await (const info of store.list({ prefix: 'captures/2024/' })) none.push(info);
    expect(none).toEqual([]);
  });

  it('lists names and sizes only when metadata is not wanted', async () => {
    const request = await localFile('e.pcap.gz', 'twelve bytes');
    await store.put(request);
    const quick = [];
    for await (const info of store.list({ prefix: 'captures/', metadata: false })) quick.push(info);
    expect(quick).toEqual([{ name: request.name, size: 12, metadata: {} }]);
    const full = [];
    for await (const info of store.list({ prefix: 'captures/' })) full.push(info);
    expect(full).toEqual([expect.objectContaining({ name: request.name, size: 12, sha256: request.sha256, metadata: { packets: '3', vni: '1234' } })]);
  });

  it('never leaves a temp file behind after a put', async () => {
    await store.put(await localFile('d.pcap.gz', 'content'));
    const files = await readdir(join(dir, 'archive/captures/2025/11/21/13'));
    expect(files.sort()).toEqual(['d.pcap.gz', 'd.pcap.gz.meta.json']);
  });

  it('refuses names that would escape the root', async () => {
    const request = await localFile('e.pcap.gz', 'x');
    await expect(store.put({ ...request, name: '../outside.pcap.gz' })).rejects.toThrow(/invalid object name/);
  });

  it('opens from a path or file:// URL, and names an unknown scheme', async () => {
    expect((await openStore(join(dir, 'x'))).location).toBe(`file://${join(dir, 'x')}`);
    expect((await openStore(`file://${join(dir, 'y')}`)).location).toBe(`file://${join(dir, 'y')}`);
    await expect(openStore('s3://bucket/x')).rejects.toThrow(/unsupported store URL scheme "s3:"/);
  });
});
