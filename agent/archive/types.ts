/** Options and results of turning one capture file into archive objects (see pack.ts). */
import type { DecapMode, PortOptions } from '../decap/registry.js';

export type SplitMode = 'vni' | 'none';
export type Codec = 'gzip' | 'zstd';
/** What to do with packets that are not a known encapsulation: keep them in a "raw" stream, or drop them. */
export type UnknownPolicy = 'keep' | 'drop';

/** PortOptions: the UDP destination ports of each UDP encapsulation ("vxlanPorts"; defaults in decap/registry.ts). */
export interface PackOptions extends PortOptions {
  decap: DecapMode;
  /** 'vni': one stream per source (encapsulation + VNI/key); 'none': one combined stream. */
  split: SplitMode;
  /** With split 'vni', also write one combined stream of every decapsulated packet. */
  combined?: boolean;
  unknown: UnknownPolicy;
  codec: Codec;
  /** Compression level; defaults per codec (see compress.ts). */
  level?: number;
  /** Identifies this sink in object names and metadata (normalised by sink-id.ts `sinkId`). */
  sink: string;
  /** Object-name prefix, e.g. "captures/" (default ""). */
  prefix?: string;
  /** Restore orig_len of truncated inner packets from their IP header (default true). */
  fixTruncated?: boolean;
  /** Write an index beside each object (default true; see agent/index/format.ts). */
  index?: boolean;
  /**
   * Streams (source, hour) open at once (default 64, see open-streams.ts); beyond it the least
   * recently used is finished as an object and its source starts a new one when it comes back.
   */
  maxOpenStreams?: number;
  /** The capture's name for the objects' `input` metadata (default: the input file's base name). */
  inputName?: string;
  /**
   * Uncompressed pcap bytes per frame (default 1 MiB, FRAME_SIZE_RANGE): smaller frames let a query
   * read less of an object, at some cost in compression ratio and index size.
   */
  frameSize?: number;
}

/** Accepted frame sizes: at least a few full-size packets per frame, at most 64 MiB of memory per stream. */
export const FRAME_SIZE_RANGE = [4096, 64 * 1024 * 1024] as const;

/** An object's index file, written beside it (`<object file>.idx.zst`), uploaded after it. */
export interface PackedIndex {
  /** `<object name>.idx.zst` */
  name: string;
  filePath: string;
  size: number;
  sha256: string;
  contentType: string;
  /** "flows": flow lines; "summary": per-frame summaries (too many flows for the size bound). */
  flowDetail: 'flows' | 'summary';
}

/** One finished, compressed archive object on local disk, ready for ObjectStore.put. */
export interface PackedObject {
  /** The object name in the store (prefix + date/hour path + file name). */
  name: string;
  /** The complete, fsynced compressed file. */
  filePath: string;
  size: number;
  sha256: string;
  contentType: string;
  /** Archive metadata as stored with the object (packets, first-time, vni, codec, sha256, ...). */
  metadata: Record<string, string>;
  /** Source token used in the name: "vxlan-1234", "geneve-5", "gre-7", "erspan-3", "raw" or "all". */
  source: string;
  packets: number;
  /** Captured bytes of the packets in this object (after decapsulation, before compression). */
  bytes: number;
  /** Earliest and latest packet timestamps in nanoseconds since the epoch. */
  firstNs: bigint;
  lastNs: bigint;
  /** Packets whose orig_len was restored from the inner IP header. */
  corrections: number;
  /** Independent frames (zstd frames / gzip members) the object is made of. */
  frames: number;
  index?: PackedIndex;
}

export interface PackReport {
  input: string;
  inputBytes: number;
  packetsIn: number;
  decapsulated: number;
  /** Packets that were not a known encapsulation (kept raw or dropped, per policy). */
  unknown: number;
  corrections: number;
  /**
   * Frames longer than any 9000-byte-MTU frame could be: packets merged by GRO/LRO on the capturing
   * host. They are kept as they are, but the capture interface's offloads should be turned off.
   */
  oversized: number;
  objects: PackedObject[];
  /** Records kept whose timestamp fraction was a second or more; carried into the seconds. */
  timestampsNormalised?: number;
  /** Set when the input ends inside a record (a crash or power loss cut it): what was kept, and why it stopped. */
  cut?: { offset: number; reason: string };
}
