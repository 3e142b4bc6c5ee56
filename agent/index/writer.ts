/**
 * Turns an object's collected index into the index file's bytes (format.ts), within the size
 * bound: at most 5% of the object. When flow lines would exceed it, the index carries per-frame
 * summaries instead (coarsened further until it fits, or until they are one entry per list).
 */
import { promisify } from 'node:util';
import { constants, zstdCompress } from 'node:zlib';
import type { FrameExtent } from '../archive/framed-compressor.js';
import type { PcapFileHeader } from '../pcap/format.js';
import type { ClassAggregate, FlowAggregate, IndexCollector, TimeRange } from './collector.js';
import { type ArchiveIndex, type ClassLine, encodeIndexLines, type FlowLine, type FrameLine, INDEX_VERSION, type IndexLine } from './format.js';
import { className } from './inner-packet.js';
import { coarsenSummary } from './summary.js';

/** The index may take at most this share of the object's bytes. */
export const INDEX_BOUND = 0.05;
/** zstd level for the index: JSON lines shrink ~10x; the index is small next to the object. */
const INDEX_LEVEL = 9;
const zstdCompressAsync = promisify(zstdCompress);

export interface IndexedObject {
  name: string;
  size: number;
  sha256: string;
  codec: 'zstd' | 'gzip';
  source: string;
  sink: string;
  pcap: Pick<PcapFileHeader, 'nanosecond' | 'snaplen' | 'linktype'>;
  packets: number;
  bytes: number;
  range: TimeRange;
  frames: FrameExtent[];
}

export interface BuiltIndex {
  bytes: Buffer;
  index: ArchiveIndex;
}

const ns = (sec: number, nsec: number): string => (BigInt(sec) * 1_000_000_000n + BigInt(nsec)).toString();

function formatAddress(raw: Buffer): string {
  if (raw.length === 4) return `${raw[0]}.${raw[1]}.${raw[2]}.${raw[3]}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(raw.readUInt16BE(i).toString(16));
  // The WHATWG URL parser prints IPv6 in RFC 5952 canonical form.
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

function pairs(flat: number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}

function flowLine(f: FlowAggregate): FlowLine {
  return {
    type: 'flow',
    v: f.v,
    src: formatAddress(f.src),
    dst: formatAddress(f.dst),
    proto: f.proto,
    sport: f.sport,
    dport: f.dport,
    ...(f.vlan >= 0 ? { vlan: f.vlan } : {}),
    firstNs: ns(f.firstSec, f.firstNsec),
    lastNs: ns(f.lastSec, f.lastNsec),
    packets: f.packets,
    bytes: f.bytes,
    frames: pairs(f.frames),
  };
}

function classLine(c: ClassAggregate): ClassLine {
  return {
    type: 'class',
    class: className(c.ethertype),
    ...(c.vlan >= 0 ? { vlan: c.vlan } : {}),
    firstNs: ns(c.firstSec, c.firstNsec),
    lastNs: ns(c.lastSec, c.lastNsec),
    packets: c.packets,
    bytes: c.bytes,
    frames: pairs(c.frames),
  };
}

async function compress(index: ArchiveIndex): Promise<Buffer> {
  const text = Buffer.from(encodeIndexLines(index));
  return zstdCompressAsync(text, {
    params: { [constants.ZSTD_c_compressionLevel]: INDEX_LEVEL, [constants.ZSTD_c_checksumFlag]: 1 },
    pledgedSrcSize: text.length,
  });
}

/** The index of a finished object, as compressed bytes, within INDEX_BOUND of its size where it can be. */
export async function buildIndex(collector: IndexCollector, object: IndexedObject): Promise<BuiltIndex> {
  if (collector.frames.length !== object.frames.length) {
    throw new Error(`index: ${collector.frames.length} frames collected but ${object.frames.length} compressed`);
  }
  let offset = 0;
  let rawOffset = 0;
  const frames: FrameLine[] = collector.frames.map((stats, i) => {
    const extent = object.frames[i]!;
    if (extent.rawLength !== stats.rawLength) throw new Error(`index: frame ${i} holds ${extent.rawLength} bytes, expected ${stats.rawLength}`);
    const line: FrameLine = {
      type: 'frame',
      i,
      offset,
      length: extent.length,
      rawOffset,
      rawLength: extent.rawLength,
      packets: stats.packets,
      firstNs: ns(stats.firstSec, stats.firstNsec),
      lastNs: ns(stats.lastSec, stats.lastNsec),
    };
    offset += extent.length;
    rawOffset += extent.rawLength;
    return line;
  });
  const classes = [...collector.classes.values()].map(classLine);
  const head = (flowDetail: 'flows' | 'summary', flows: number): IndexLine => ({
    type: 'index',
    version: INDEX_VERSION,
    object: object.name,
    size: object.size,
    sha256: object.sha256,
    codec: object.codec,
    pcap: {
      magic: object.pcap.nanosecond ? 'a1b23c4d' : 'a1b2c3d4',
      nanosecond: object.pcap.nanosecond,
      bigEndian: false,
      versionMajor: 2,
      versionMinor: 4,
      snaplen: object.pcap.snaplen,
      linktype: object.pcap.linktype,
    },
    source: object.source,
    sink: object.sink,
    packets: object.packets,
    bytes: object.bytes,
    firstNs: ns(object.range.firstSec, object.range.firstNsec),
    lastNs: ns(object.range.lastSec, object.range.lastNsec),
    frames: frames.length,
    flows,
    classes: classes.length,
    flowDetail,
  });
  const bound = object.size * INDEX_BOUND;
  if (!collector.overflowed) {
    const flows = [...collector.flows.values()].map(flowLine);
    const index: ArchiveIndex = { index: head('flows', flows.length), frames, flows, classes };
    const bytes = await compress(index);
    if (bytes.length <= bound) return { bytes, index };
  }
  // Too many flows: per-frame summaries, coarser until the bound holds (or nothing coarser exists).
  let built: BuiltIndex | undefined;
  for (const entries of [Number.POSITIVE_INFINITY, 4, 1]) {
    const summarised = frames.map((frame, i) => {
      const summary = collector.frames[i]!.summary;
      return { ...frame, summary: Number.isFinite(entries) ? coarsenSummary(summary, entries) : summary };
    });
    const index: ArchiveIndex = { index: head('summary', 0), frames: summarised, flows: [], classes };
    built = { bytes: await compress(index), index };
    if (built.bytes.length <= bound) break;
  }
  return built!;
}
