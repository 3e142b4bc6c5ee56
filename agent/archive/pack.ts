/**
 * agent/archive/: the pack stage: one capture file in, per-source compressed objects out (split by
 * source, decapsulate, fix truncation, compress in frames, name, write the index beside each object,
 * write the outbox entry). Works on local files only: imports pcap/, packet/, decap/, index/ and
 * fs/; must not import store/, daemon/, retrieve/, query/ or commands/ (uploading is the daemon's
 * job).
 */
import { createHash } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import { fsyncDir, writeFileAtomic } from '../fs/durable.js';
import { basename, dirname, join } from 'node:path';
import { createDecapsulator } from '../decap/dispatch.js';
import { DecapResult, type Encap } from '../decap/result.js';
import { encapName, portOptionsOf } from '../decap/registry.js';
import { lengthFromIpHeader } from '../packet/truncation.js';
import { LINKTYPE_RAW, MAX_RECORD_LENGTH } from '../pcap/format.js';
import { readPcapFile, readPcapHeader } from '../pcap/reader.js';
import { AGENT_VERSION } from '../version.js';
import { INDEX_CONTENT_TYPE, INDEX_SUFFIX as INDEX_FILE_SUFFIX, indexName } from '../index/format.js';
import { buildIndex } from '../index/writer.js';
import { ArchiveStream } from './archive-stream.js';
import { CODEC_CONTENT_TYPE, DEFAULT_LEVEL } from './compress.js';
import { formatIsoTime, objectName } from './naming.js';
import { sinkId } from './sink-id.js';
import { DEFAULT_MAX_OPEN_STREAMS, OpenStreams, type OpenStream } from './open-streams.js';
import type { PackOptions, PackReport, PackedObject } from './types.js';

/** Characters of the sha256 that go into the object name: 48 bits, no realistic collision per source-hour. */
const NAME_HASH_LENGTH = 12;
/** Room for every id + 1 (-1 .. 2^32-1 -> 0 .. 2^32) in a stream key. */
const ID_SLOT = 2 ** 33;
/** A 9000-byte IP MTU plus Ethernet header, two VLAN tags and FCS: anything longer was merged by GRO/LRO. */
const MAX_MTU_FRAME = 9000 + 14 + 8 + 4;
/** Evicted streams finishing at once before the reader waits for them (each holds a descriptor). */
const MAX_FINISHING = 8;

/** The name token of a stream's source: "vxlan-1234", "gre-7-ip", "gre", "raw", "all". */
function sourceToken(encap: Encap, id: number, linktype: number): string {
  const base = id >= 0 ? `${encapName(encap)}-${id}` : encapName(encap);
  return linktype === LINKTYPE_RAW ? `${base}-ip` : base;
}

/**
 * A number per (encapsulation, inner link type, id) for the hot path's stream lookup. The id is
 * -1 (none: keyless GRE) or 0..2^32-1 (a GRE key can be 0xFFFFFFFF), so id + 1 needs 2^32 + 1
 * values: each link type gets a slot of 2^33 and each encapsulation two slots. Keys stay below
 * 2^36, exact in a double.
 */
export function sourceKey(encap: Encap, id: number, linktype: number): number {
  return (encap * 2 + (linktype === LINKTYPE_RAW ? 1 : 0)) * ID_SLOT + (id + 1);
}

/**
 * Turns one capture file into archive objects in `outDir`: decapsulates each record, restores the
 * wire length of truncated inner packets, splits by source and hour, and compresses each stream.
 * Every object is written hidden, fsynced and renamed to its final content-derived name, its index
 * written beside it the same way, so a crash leaves either nothing or a complete object;
 * re-packing the same capture reproduces the same names and bytes. What is complete is told by the
 * report (the daemon's spool records it in an outbox entry, daemon/outbox-entry.ts).
 */
export async function packCapture(inputPath: string, outDir: string, options: PackOptions): Promise<PackReport> {
  const header = await readPcapHeader(inputPath);
  const codec = options.codec;
  const level = options.level ?? DEFAULT_LEVEL[codec];
  const sink = sinkId(options.sink);
  const prefix = options.prefix ?? '';
  const fixTruncated = options.fixTruncated ?? true;
  const splitBySource = options.split === 'vni';
  const keepUnknown = options.unknown === 'keep' || options.decap === 'none';
  const snaplen = header.snaplen > 0 && header.snaplen <= MAX_RECORD_LENGTH ? header.snaplen : MAX_RECORD_LENGTH;
  const decapsulate = createDecapsulator({ mode: options.decap, ...portOptionsOf(options) });
  const result = new DecapResult();

  const context: FinishContext = { outDir, prefix, sink, codec, level, input: options.inputName ?? basename(inputPath), names: new Set() };
  const objects: PackedObject[] = [];
  // Streams evicted from the open set finish while packing goes on; the visitor pauses the reader
  // once a few are in flight, so descriptors and memory stay bounded however many sources come.
  let finishing: Promise<void>[] = [];
  let finishFailure: unknown;
  const finishEvicted = (stream: ArchiveStream) => {
    if (stream === lastOpen?.stream) lastOpen = undefined;
    finishing.push(
      finishObject(stream, context).then(
        (object) => void objects.push(object),
        (error: unknown) => void (finishFailure ??= error),
      ),
    );
  };
  // Streams keyed by (source, inner link type) then by hour; numeric keys keep the hot path cheap.
  const streams = new OpenStreams(options.maxOpenStreams ?? DEFAULT_MAX_OPEN_STREAMS, finishEvicted);
  const openEntry = (key: number, hour: number, source: string, linktype: number) =>
    streams.get(key, hour, () => new ArchiveStream(source, linktype, outDir, codec, level, snaplen, header.nanosecond, options.index ?? true, options.frameSize));
  const open = (key: number, hour: number, source: string, linktype: number): ArchiveStream => openEntry(key, hour, source, linktype).stream;
  const RAW_KEY = 0;
  const COMBINED_KEY = -1;
  const COMBINED_RAW_IP_KEY = -2;
  // Classic pcap has one link type per file, so inner frames that are bare IP get their own stream.
  const openCombined = (linktype: number, hour: number) =>
    linktype === LINKTYPE_RAW ? openEntry(COMBINED_RAW_IP_KEY, hour, 'all-ip', linktype) : openEntry(COMBINED_KEY, hour, 'all', linktype);
  let lastKey = NaN;
  let lastHour = NaN;
  let lastOpen: OpenStream | undefined;
  let packetsIn = 0;
  let decapsulated = 0;
  let unknown = 0;
  let corrections = 0;
  let oversized = 0;

  const visit = (buf: Buffer, start: number, end: number, sec: number, frac: number, origLen: number) => {
    packetsIn += 1;
    const hour = Math.floor(sec / 3600);
    if (!decapsulate(buf, start, end, header.linktype, result)) {
      unknown += 1;
      // Not-encapsulated packets keep the capture's own link type, in their own "raw" stream.
      if (keepUnknown) open(RAW_KEY, hour, 'raw', header.linktype).add(buf, start, end, sec, frac, origLen);
      return finishing.length < MAX_FINISHING;
    }
    decapsulated += 1;
    const innerStart = result.innerStart;
    const innerEnd = result.innerEnd;
    const linktype = result.innerLinktype;
    // Bytes the outer capture lost to its snap length were lost from the inner packet too.
    let wireLength = innerEnd - innerStart + (origLen - (end - start));
    let corrected = false;
    if (fixTruncated) {
      const fromIp = lengthFromIpHeader(buf, innerStart, innerEnd, linktype);
      if (fromIp > wireLength) {
        wireLength = fromIp;
        corrections += 1;
        corrected = true;
      }
    }
    const key = splitBySource
      ? sourceKey(result.encap, result.id, linktype)
      : linktype === LINKTYPE_RAW
        ? COMBINED_RAW_IP_KEY
        : COMBINED_KEY;
    if (key === lastKey && hour === lastHour && lastOpen) {
      streams.touch(lastOpen);
    } else {
      lastOpen = splitBySource ? openEntry(key, hour, sourceToken(result.encap, result.id, linktype), linktype) : openCombined(linktype, hour);
      lastKey = key;
      lastHour = hour;
    }
    const stream = lastOpen.stream;
    if (wireLength > MAX_MTU_FRAME) oversized += 1;
    stream.add(buf, innerStart, innerEnd, sec, frac, wireLength);
    stream.noteOuterSource(buf, result.outerSrcOffset, result.outerSrcLength);
    if (corrected) stream.corrections += 1;
    if (splitBySource && options.combined) {
      const combined = openCombined(linktype, hour).stream;
      combined.add(buf, innerStart, innerEnd, sec, frac, wireLength);
      if (corrected) combined.corrections += 1;
    }
    return finishing.length < MAX_FINISHING;
  };

  const waitForFinished = async () => {
    const inFlight = finishing;
    finishing = [];
    await Promise.all(inFlight);
    if (finishFailure !== undefined) throw finishFailure;
  };
  const waitForCompressors = async () => {
    if (finishing.length > 0) await waitForFinished();
    for (const stream of streams.all()) if (stream.file.needsDrain) await stream.file.drain();
  };

  let read;
  try {
    read = await readPcapFile(inputPath, visit, waitForCompressors);
    await waitForFinished();
  } catch (error) {
    await Promise.allSettled(finishing);
    await Promise.all(streams.all().map((stream) => stream.file.abort()));
    throw error;
  }

  try {
    for (const stream of streams.all()) objects.push(await finishObject(stream, context));
  } catch (error) {
    await Promise.all(streams.all().map((stream) => rm(stream.file.tempPath, { force: true })));
    await Promise.all(objects.flatMap((o) => (o.index ? [rm(o.index.filePath, { force: true })] : [])));
    throw error;
  }
  await fsyncDir(outDir);
  objects.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    input: inputPath,
    inputBytes: read.bytes,
    packetsIn,
    decapsulated,
    unknown,
    corrections,
    oversized,
    objects,
    ...(read.timestampsNormalised > 0 ? { timestampsNormalised: read.timestampsNormalised } : {}),
    ...(read.cut ? { cut: read.cut } : {}),
  };
}

interface FinishContext {
  outDir: string;
  prefix: string;
  sink: string;
  codec: PackOptions['codec'];
  level: number;
  input: string;
  /** Names given so far in this capture (see uniqueName). */
  names: Set<string>;
}

/**
 * The object's name with the start of its sha256, unless this capture already produced that name:
 * a source evicted from the open streams and back in the same hour with byte-identical packets
 * (duplicated records) would overwrite its first object. Then the hash part is taken from
 * sha256(sha256 + ":" + n), which the same capture reproduces on a re-pack.
 */
function uniqueName(names: Set<string>, nameFor: (hash: string) => string, sha256: string): string {
  let name = nameFor(sha256.slice(0, NAME_HASH_LENGTH));
  for (let n = 1; names.has(name); n += 1) {
    name = nameFor(createHash('sha256').update(`${sha256}:${n}`).digest('hex').slice(0, NAME_HASH_LENGTH));
  }
  names.add(name);
  return name;
}

/**
 * Names the finished stream after its content, renames it into place, then writes its index
 * beside it: object, then index, each complete before the next.
 */
async function finishObject(stream: ArchiveStream, context: FinishContext): Promise<PackedObject> {
  const compressed = await stream.finish();
  const name = uniqueName(context.names, (hash) =>
    objectName({
      prefix: context.prefix,
      firstSec: stream.firstSec,
      firstNsec: stream.firstNsec,
      lastSec: stream.lastSec,
      lastNsec: stream.lastNsec,
      source: stream.source,
      sink: context.sink,
      hash,
      codec: context.codec,
    }),
  compressed.sha256);
  const filePath = join(context.outDir, basename(name));
  const [encapsulation, id] = stream.source.split('-');
  const metadata: Record<string, string> = {
    'first-time': formatIsoTime(stream.firstSec, stream.firstNsec),
    'last-time': formatIsoTime(stream.lastSec, stream.lastNsec),
    packets: String(stream.packets),
    bytes: String(stream.bytes),
    source: stream.source,
    encapsulation: encapsulation ?? stream.source,
    vni: id !== undefined && /^\d+$/.test(id) ? id : '',
    'outer-sources': [...stream.outerSources].join(','),
    linktype: String(stream.linktype),
    corrections: String(stream.corrections),
    sink: context.sink,
    codec: context.codec,
    level: String(context.level),
    sha256: compressed.sha256,
    'agent-version': AGENT_VERSION,
    input: context.input,
    frames: String(compressed.frames.length),
    ...(stream.index ? { index: indexName(name) } : {}),
  };
  await rename(compressed.tempPath, filePath);
  let index: PackedObject['index'];
  if (stream.index) {
    const built = await buildIndex(stream.index, {
      name,
      size: compressed.size,
      sha256: compressed.sha256,
      codec: context.codec,
      source: stream.source,
      sink: context.sink,
      pcap: { nanosecond: stream.nanosecond, snaplen: stream.snaplen, linktype: stream.linktype },
      packets: stream.packets,
      bytes: stream.bytes,
      range: stream,
      frames: compressed.frames,
    });
    const indexPath = `${filePath}${INDEX_FILE_SUFFIX}`;
    await writeFileAtomic(indexPath, built.bytes);
    index = {
      name: indexName(name),
      filePath: indexPath,
      size: built.bytes.length,
      sha256: createHash('sha256').update(built.bytes).digest('hex'),
      contentType: INDEX_CONTENT_TYPE,
      flowDetail: built.index.index.flowDetail,
    };
  }
  return {
    name,
    filePath,
    size: compressed.size,
    sha256: compressed.sha256,
    contentType: CODEC_CONTENT_TYPE[context.codec],
    metadata,
    source: stream.source,
    packets: stream.packets,
    bytes: stream.bytes,
    firstNs: BigInt(stream.firstSec) * 1_000_000_000n + BigInt(stream.firstNsec),
    lastNs: BigInt(stream.lastSec) * 1_000_000_000n + BigInt(stream.lastNsec),
    corrections: stream.corrections,
    frames: compressed.frames.length,
    ...(index ? { index } : {}),
  };
}
