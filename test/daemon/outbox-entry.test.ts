/**
 * The outbox entry module on its own: what it writes reads back the same, entries of older agents
 * still read, and anything else is refused with one line naming the file and the field. No root.
 */
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PackedObject } from '../../agent/archive/types.js';
import {
  OUTBOX_ENTRY_VERSION,
  OutboxEntryError,
  outboxEntryRecord,
  parseOutboxEntry,
  readOutboxEntry,
  writeOutboxEntry,
} from '../../agent/daemon/outbox-entry.js';

const SHA = 'ab'.repeat(32);
const INDEX_SHA = 'cd'.repeat(32);
const BASE = '20260101T000000.000000000Z-20260101T000059.000000000Z_vxlan-7_s_0123456789abcdef.pcap.zst';

function packed(dir: string, withIndex = true): PackedObject {
  return {
    name: `captures/2026/01/01/00/${BASE}`,
    filePath: join(dir, BASE),
    size: 1234,
    sha256: SHA,
    contentType: 'application/zstd',
    metadata: { packets: '17', source: 'vxlan-7', sha256: SHA },
    source: 'vxlan-7',
    packets: 17,
    bytes: 2048,
    firstNs: 1_767_225_600_000_000_000n,
    lastNs: 1_767_225_659_000_000_001n,
    corrections: 2,
    frames: 3,
    ...(withIndex
      ? { index: { name: `captures/2026/01/01/00/${BASE}.idx.zst`, filePath: join(dir, `${BASE}.idx.zst`), size: 99, sha256: INDEX_SHA, contentType: 'application/zstd', flowDetail: 'flows' as const } }
      : {}),
  };
}

describe('outbox entry', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vd-entry-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads back what it wrote, with the paths of the object and its index beside the entry', async () => {
    const object = packed(dir);
    await writeOutboxEntry(dir, object);
    // Written atomically: the entry and nothing else (no temp file left beside it).
    expect(await readdir(dir)).toEqual([`${BASE}.json`]);
    const entry = await readOutboxEntry(dir, BASE);
    expect(entry).toEqual({
      base: BASE,
      objectPath: join(dir, BASE),
      sidecarPath: join(dir, `${BASE}.json`),
      name: object.name,
      size: 1234,
      sha256: SHA,
      contentType: 'application/zstd',
      metadata: object.metadata,
      packets: 17,
      source: 'vxlan-7',
      index: { name: object.index!.name, path: join(dir, `${BASE}.idx.zst`), size: 99, sha256: INDEX_SHA, contentType: 'application/zstd', flowDetail: 'flows' },
    });
    // On disk: versioned, times as decimal strings, the index named by its file name only.
    const raw = JSON.parse(await readFile(join(dir, `${BASE}.json`), 'utf8')) as Record<string, unknown>;
    expect(raw.version).toBe(OUTBOX_ENTRY_VERSION);
    expect(raw.firstNs).toBe('1767225600000000000');
    expect(raw.lastNs).toBe('1767225659000000001');
    expect(raw.filePath).toBeUndefined();
    expect(raw.index).toMatchObject({ file: `${BASE}.idx.zst` });
    expect(JSON.stringify(raw)).not.toContain(dir);
  });

  it('reads an object without an index, and an entry of an agent from before versioning', async () => {
    await writeOutboxEntry(dir, packed(dir, false));
    expect((await readOutboxEntry(dir, BASE))?.index).toBeUndefined();
    // What agents before the entry schema wrote: no version, no contentType on the index.
    const old = { name: 'captures/x.pcap.gz', size: 10, sha256: SHA, md5: 'bWQ1', metadata: { a: 'b' }, packets: 4, source: 'raw', index: { name: 'captures/x.pcap.gz.idx.zst', file: 'x.pcap.gz.idx.zst', size: 5, sha256: INDEX_SHA } };
    await writeFile(join(dir, 'x.pcap.gz.json'), JSON.stringify(old));
    const entry = await readOutboxEntry(dir, 'x.pcap.gz');
    expect(entry).toMatchObject({ name: 'captures/x.pcap.gz', md5: 'bWQ1', contentType: 'application/octet-stream', packets: 4 });
    expect(entry?.index).toEqual({ name: 'captures/x.pcap.gz.idx.zst', path: join(dir, 'x.pcap.gz.idx.zst'), size: 5, sha256: INDEX_SHA, contentType: 'application/zstd' });
  });

  it('is undefined when the entry is not there (taken by the uploader or evicted)', async () => {
    expect(await readOutboxEntry(dir, BASE)).toBeUndefined();
  });

  it('refuses a bad entry with one line naming the file and the field', async () => {
    const good = outboxEntryRecord(packed(dir));
    const refuse = (value: unknown) => () => parseOutboxEntry(typeof value === 'string' ? value : JSON.stringify(value), 'outbox/x.json');
    expect(refuse('{"name": ')).toThrow(/^outbox\/x\.json: not an outbox entry \(not JSON: /);
    expect(refuse([1])).toThrow(OutboxEntryError);
    expect(refuse({ ...good, sha256: 'nope' })).toThrow(/^outbox\/x\.json: not an outbox entry \(sha256: expected 64 lowercase hex digits\)$/);
    const { size: _size, ...noSize } = good;
    expect(refuse(noSize)).toThrow(/^outbox\/x\.json: not an outbox entry \(size: /);
    expect(refuse({ ...good, packets: -1 })).toThrow(/\(packets: /);
    expect(refuse({ ...good, metadata: { packets: 17 } })).toThrow(/\(metadata\.packets: /);
    // The index must be a file beside the entry: never a path the uploader would read elsewhere.
    expect(refuse({ ...good, index: { ...good.index, file: '../../etc/passwd' } })).toThrow(/\(index\.file: expected a file name in the same directory\)$/);
    expect(refuse({ ...good, version: 2 })).toThrow(/^outbox\/x\.json: outbox entry version 2 was written by a newer agent \(this one reads version 1\)$/);
    // One line each (zod's own multi-line report is not passed on).
    expect(refuse({ ...good, sha256: 'nope', size: -1, packets: 'x' })).toThrow(/^[^\n]+$/);
    expect(parseOutboxEntry(JSON.stringify(good), 'outbox/x.json')).toEqual(good);
  });

  it('a bad entry on disk is refused by name, not read as zeros', async () => {
    await writeFile(join(dir, `${BASE}.json`), JSON.stringify({ name: 'captures/y', size: '12', sha256: SHA }));
    await expect(readOutboxEntry(dir, BASE)).rejects.toThrow(`${join(dir, `${BASE}.json`)}: not an outbox entry (size: `);
  });

  it('never writes an entry whose index is not beside its object', () => {
    const object = packed(dir);
    expect(() => outboxEntryRecord({ ...object, index: { ...object.index!, filePath: join(dir, 'elsewhere', `${BASE}.idx.zst`) } })).toThrow(/is not beside it/);
  });
});
