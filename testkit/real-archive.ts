/**
 * Puts one source's inner records into a store through the REAL writer (packCapture, as
 * `vtap-archiver archive` and the daemon do): the records are wrapped in VXLAN with the source's VNI,
 * cut into one capture per rotation (never across an hour), packed with small frames, and put with
 * their indexes. `index: 'drop'` leaves the objects without an index (valid: they are read in full).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { packCapture } from '../agent/archive/pack.js';
import type { Codec } from '../agent/archive/types.js';
import { indexPutRequest } from '../agent/index/upload.js';
import type { ObjectStore } from '../agent/store/store.js';
import { writePcap } from './pcap-file.js';
import type { PcapRecord } from './pcap-records.js';
import { vxlanWrap } from './vxlan-wrap.js';

export interface RealArchiveOptions {
  /** "vxlan-<vni>" */
  source: string;
  sink: string;
  codec?: Codec;
  /** Uncompressed bytes per frame (default 4 KiB: many frames from small test objects). */
  frameSize?: number;
  index?: 'keep' | 'drop';
}

export async function archiveSource(store: ObjectStore, workDir: string, records: PcapRecord[], rotateSec: number, options: RealArchiveOptions): Promise<string[]> {
  const vni = Number(/^vxlan-(\d+)$/.exec(options.source)?.[1]);
  if (!Number.isInteger(vni)) throw new Error(`archiveSource: source ${options.source} is not vxlan-<vni>`);
  const dir = await mkdtemp(join(workDir, 'real-archive-'));
  const names: string[] = [];
  const pack = async (batch: PcapRecord[]) => {
    const capture = join(dir, 'rotation.pcap');
    await writePcap(capture, batch.map((r) => vxlanWrap(r, vni)));
    const report = await packCapture(capture, dir, {
      decap: 'vxlan', split: 'vni', unknown: 'drop', codec: options.codec ?? 'zstd', sink: options.sink, prefix: 'captures/', frameSize: options.frameSize ?? 4096,
    });
    for (const object of report.objects) {
      await store.put(object);
      if (object.index && options.index !== 'drop') await store.put(indexPutRequest(object.index, object));
      names.push(object.name);
    }
  };
  let batch: PcapRecord[] = [];
  let batchKey: bigint | undefined;
  for (const record of records) {
    const sec = record.ns / 1_000_000_000n;
    const key = (sec / 3600n) * 1_000_000n + (sec % 3600n) / BigInt(rotateSec);
    if (batchKey !== undefined && key !== batchKey) {
      await pack(batch);
      batch = [];
    }
    batchKey = key;
    batch.push(record);
  }
  if (batch.length > 0) await pack(batch);
  await rm(dir, { recursive: true, force: true });
  return names;
}
