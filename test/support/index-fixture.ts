/**
 * TEST-ONLY STAND-IN for the real object + index writer (issue 11, agent/index/): turns pcap records
 * into archive objects made of independent zstd frames / gzip members of whole records, plus a
 * `<object>.idx.zst` that follows /work/index-spec.md (version 1). When the real writer is merged,
 * the query tests should archive with it instead (`vtap-archiver archive`) and this file can go.
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import { formatIsoTime, objectName } from '../../agent/archive/naming.js';
import { pcapGlobalHeader } from '../../agent/pcap/writer.js';
import type { ObjectStore } from '../../agent/store/store.js';
import type { PcapRecord } from './pcap-records.js';

export interface FixtureObjectOptions {
  source: string;
  sink: string;
  linktype: number;
  codec?: 'zstd' | 'gzip';
  /** Uncompressed bytes per frame (default 16 KiB: many frames from small test objects). */
  frameBytes?: number;
  /** 'flows' (default), 'summary' (frame summaries, no flow lines) or 'none' (no index at all). */
  index?: 'flows' | 'summary' | 'none';
  prefix?: string;
  vni?: string;
}

interface Key {
  kind: 'flow' | 'class';
  key: string;
  line: Record<string, unknown>;
}

const TPIDS = new Set([0x8100, 0x88a8]);
const PORT_PROTOS = new Set([6, 17, 132]);
const V6_EXTENSIONS = new Set([0, 43, 60, 51]);

function v6text(bytes: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

/** What the index says about one inner packet: its flow key or its class. */
export function classify(data: Buffer, linktype: number): Key {
  let vlan: number | undefined;
  let pos = 0;
  let ethertype: number;
  if (linktype === 1) {
    ethertype = data.readUInt16BE(12);
    pos = 14;
    while (TPIDS.has(ethertype) && data.length >= pos + 4) {
      if (vlan === undefined) vlan = data.readUInt16BE(pos) & 0x0fff;
      ethertype = data.readUInt16BE(pos + 2);
      pos += 4;
    }
  } else {
    const version = data[0]! >> 4;
    ethertype = version === 4 ? 0x0800 : version === 6 ? 0x86dd : 0;
  }
  const cls = (name: string): Key => ({ kind: 'class', key: `${name}|${vlan}`, line: { type: 'class', class: name, ...(vlan !== undefined ? { vlan } : {}) } });
  const flow = (v: 4 | 6, src: string, dst: string, proto: number, sport: number, dport: number): Key => ({
    kind: 'flow',
    key: [v, src, dst, proto, sport, dport, vlan].join('|'),
    line: { type: 'flow', v, src, dst, proto, sport, dport, ...(vlan !== undefined ? { vlan } : {}) },
  });
  if (ethertype === 0x0800) {
    if (data.length < pos + 20) return cls('ipv4-malformed');
    const ihl = (data[pos]! & 0x0f) * 4;
    const proto = data[pos + 9]!;
    const fragOffset = data.readUInt16BE(pos + 6) & 0x1fff;
    const src = [...data.subarray(pos + 12, pos + 16)].join('.');
    const dst = [...data.subarray(pos + 16, pos + 20)].join('.');
    const l4 = pos + ihl;
    const ports = fragOffset === 0 && PORT_PROTOS.has(proto) && data.length >= l4 + 4;
    return flow(4, src, dst, proto, ports ? data.readUInt16BE(l4) : 0, ports ? data.readUInt16BE(l4 + 2) : 0);
  }
  if (ethertype === 0x86dd) {
    if (data.length < pos + 40) return cls('other');
    const src = v6text(data.subarray(pos + 8, pos + 24));
    const dst = v6text(data.subarray(pos + 24, pos + 40));
    let next = data[pos + 6]!;
    let at = pos + 40;
    let firstFragment = true;
    while ((V6_EXTENSIONS.has(next) || next === 44) && data.length >= at + 8) {
      if (next === 44) {
        firstFragment = (data.readUInt16BE(at + 2) & 0xfff8) === 0;
        next = data[at]!;
        at += 8;
      } else {
        const len = next === 51 ? (data[at + 1]! + 2) * 4 : (data[at + 1]! + 1) * 8;
        next = data[at]!;
        at += len;
      }
    }
    const ports = firstFragment && PORT_PROTOS.has(next) && data.length >= at + 4;
    return flow(6, src, dst, next, ports ? data.readUInt16BE(at) : 0, ports ? data.readUInt16BE(at + 2) : 0);
  }
  if (ethertype === 0x0806) return cls('arp');
  return cls(linktype === 1 ? `ethertype-0x${ethertype.toString(16).padStart(4, '0')}` : 'other');
}

function recordBytes(r: PcapRecord): Buffer {
  const head = Buffer.alloc(16);
  head.writeUInt32LE(Number(r.ns / 1_000_000_000n), 0);
  head.writeUInt32LE(Number(r.ns % 1_000_000_000n), 4);
  head.writeUInt32LE(r.data.length, 8);
  head.writeUInt32LE(r.origLen, 12);
  return Buffer.concat([head, r.data]);
}

const nsText = (ns: bigint) => ns.toString();
const iso = (ns: bigint) => formatIsoTime(Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n));

function cidrSummary(addresses: Set<string>, v: 4 | 6): string[] {
  return [...addresses].map((a) => `${a}/${v === 4 ? 32 : 128}`);
}

/**
 * Writes one object (all `records`, which must lie in one hour) and, unless `index` is 'none', its
 * index, into `store` through its ordinary put. Returns the object name.
 */
export async function putFixtureObject(store: ObjectStore, workDir: string, records: PcapRecord[], options: FixtureObjectOptions): Promise<string> {
  const codec = options.codec ?? 'zstd';
  const frameBytes = options.frameBytes ?? 16 * 1024;
  const header = pcapGlobalHeader(options.linktype, 262144, true);
  const frames: Array<{ raw: Buffer[]; rawLength: number; records: PcapRecord[] }> = [];
  let current = { raw: [header] as Buffer[], rawLength: header.length, records: [] as PcapRecord[] };
  for (const record of records) {
    const bytes = recordBytes(record);
    if (current.records.length > 0 && current.rawLength + bytes.length > frameBytes) {
      frames.push(current);
      current = { raw: [], rawLength: 0, records: [] };
    }
    current.raw.push(bytes);
    current.rawLength += bytes.length;
    current.records.push(record);
  }
  if (current.records.length > 0) frames.push(current);

  const compressed = frames.map((f) => (codec === 'zstd' ? zstdCompressSync(Buffer.concat(f.raw)) : gzipSync(Buffer.concat(f.raw))));
  const object = Buffer.concat(compressed);
  const sha256 = createHash('sha256').update(object).digest('hex');
  const first = records[0]!.ns;
  const last = records[records.length - 1]!.ns;
  const name = objectName({
    prefix: options.prefix ?? 'captures/',
    firstSec: Number(first / 1_000_000_000n),
    firstNsec: Number(first % 1_000_000_000n),
    lastSec: Number(last / 1_000_000_000n),
    lastNsec: Number(last % 1_000_000_000n),
    source: options.source,
    sink: options.sink,
    hash: sha256.slice(0, 12),
    codec,
  });
  const bytes = records.reduce((sum, r) => sum + r.data.length, 0);
  const objectPath = join(workDir, `${sha256}.obj`);
  await writeFile(objectPath, object);
  const indexKind = options.index ?? 'flows';
  await store.put({
    name,
    filePath: objectPath,
    size: object.length,
    sha256,
    contentType: codec === 'zstd' ? 'application/zstd' : 'application/gzip',
    metadata: {
      'first-time': iso(first),
      'last-time': iso(last),
      packets: String(records.length),
      bytes: String(bytes),
      source: options.source,
      encapsulation: 'vxlan',
      vni: options.vni ?? options.source.replace(/^vxlan-/, ''),
      'outer-sources': '192.168.9.1',
      linktype: String(options.linktype),
      sink: options.sink,
      codec,
      sha256,
      ...(indexKind !== 'none' ? { frames: String(frames.length), index: `${name}.idx.zst` } : {}),
    },
  });
  if (indexKind === 'none') return name;

  const lines: Array<Record<string, unknown>> = [];
  const entries = new Map<string, { kind: string; line: Record<string, unknown>; first: bigint; last: bigint; packets: number; bytes: number; frames: number[] }>();
  const frameLines: Array<Record<string, unknown>> = [];
  let offset = 0;
  let rawOffset = 0;
  frames.forEach((frame, i) => {
    const v4 = new Set<string>();
    const v6 = new Set<string>();
    const protos = new Set<number>();
    const ports = new Set<number>();
    const vlans = new Set<number>();
    const classes = new Set<string>();
    let untagged = false;
    for (const record of frame.records) {
      const key = classify(record.data, options.linktype);
      let entry = entries.get(key.key);
      if (!entry) {
        entry = { kind: key.kind, line: key.line, first: record.ns, last: record.ns, packets: 0, bytes: 0, frames: [] };
        entries.set(key.key, entry);
      }
      entry.first = record.ns < entry.first ? record.ns : entry.first;
      entry.last = record.ns > entry.last ? record.ns : entry.last;
      entry.packets += 1;
      entry.bytes += record.data.length;
      if (entry.frames[entry.frames.length - 1] !== i) entry.frames.push(i);
      const line = key.line;
      if (line.vlan !== undefined) vlans.add(line.vlan as number);
      else untagged = true;
      if (key.kind === 'flow') {
        (line.v === 4 ? v4 : v6).add(line.src as string);
        (line.v === 4 ? v4 : v6).add(line.dst as string);
        protos.add(line.proto as number);
        ports.add(line.sport as number);
        ports.add(line.dport as number);
      } else {
        classes.add(line.class as string);
      }
    }
    const length = compressed[i]!.length;
    frameLines.push({
      type: 'frame',
      i,
      offset,
      length,
      rawOffset,
      rawLength: frame.rawLength,
      packets: frame.records.length,
      firstNs: nsText(frame.records[0]!.ns),
      lastNs: nsText(frame.records[frame.records.length - 1]!.ns),
      ...(indexKind === 'summary'
        ? {
            summary: {
              v4: cidrSummary(v4, 4),
              v6: cidrSummary(v6, 6),
              protos: [...protos],
              ports: [...ports].map((p) => [p, p]),
              vlans: [...vlans],
              untagged,
              classes: [...classes],
            },
          }
        : {}),
    });
    offset += length;
    rawOffset += frame.rawLength;
  });
  const ranges = (frames: number[]) => {
    const out: Array<[number, number]> = [];
    for (const f of frames) {
      const lastRange = out[out.length - 1];
      if (lastRange && lastRange[1] === f - 1) lastRange[1] = f;
      else out.push([f, f]);
    }
    return out;
  };
  const flowLines = [...entries.values()].filter((e) => e.kind === 'flow' && indexKind === 'flows');
  const classLines = [...entries.values()].filter((e) => e.kind === 'class');
  lines.push({
    type: 'index',
    version: 1,
    object: name,
    size: object.length,
    sha256,
    codec,
    pcap: { magic: 'a1b23c4d', nanosecond: true, bigEndian: false, versionMajor: 2, versionMinor: 4, snaplen: 262144, linktype: options.linktype },
    source: options.source,
    sink: options.sink,
    packets: records.length,
    bytes,
    firstNs: nsText(first),
    lastNs: nsText(last),
    frames: frames.length,
    flows: flowLines.length,
    classes: classLines.length,
    flowDetail: indexKind,
  });
  lines.push(...frameLines);
  for (const e of [...flowLines, ...classLines]) {
    lines.push({ ...e.line, firstNs: nsText(e.first), lastNs: nsText(e.last), packets: e.packets, bytes: e.bytes, frames: ranges(e.frames) });
  }
  const index = zstdCompressSync(Buffer.from(lines.map((l) => JSON.stringify(l)).join('\n') + '\n'));
  const indexPath = join(workDir, `${sha256}.idx`);
  await writeFile(indexPath, index);
  await store.put({
    name: `${name}.idx.zst`,
    filePath: indexPath,
    size: index.length,
    sha256: createHash('sha256').update(index).digest('hex'),
    contentType: 'application/zstd',
    metadata: {},
  });
  return name;
}

/**
 * Splits one source's time-ordered records into objects the way the packer does (never across an
 * hour, a new object every `rotateSec`) and puts each with putFixtureObject.
 */
export async function putFixtureSource(
  store: ObjectStore,
  workDir: string,
  records: PcapRecord[],
  rotateSec: number,
  options: FixtureObjectOptions,
): Promise<string[]> {
  const names: string[] = [];
  let batch: PcapRecord[] = [];
  let batchKey: bigint | undefined;
  const flush = async () => {
    if (batch.length > 0) names.push(await putFixtureObject(store, workDir, batch, options));
    batch = [];
  };
  for (const record of records) {
    const sec = record.ns / 1_000_000_000n;
    const hour = sec / 3600n;
    const key = hour * 1_000_000n + (sec % 3600n) / BigInt(rotateSec);
    if (batchKey !== undefined && key !== batchKey) await flush();
    batchKey = key;
    batch.push(record);
  }
  await flush();
  return names;
}
