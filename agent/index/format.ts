/**
 * agent/index/: the per-object archive index: its format (here, the contract), the collector and
 * writer the packer feeds, frame summaries and the index upload request. Imports pcap/, store/ (the
 * contract only) and types from archive/; must not import daemon/, retrieve/, query/ or commands/
 * (readers live in query/).
 */
/**
 * The archive index, format version 1: the contract between the writer (the packer) and readers
 * (fetch, flows, coverage). One index per object, stored beside it as `<object name>.idx.zst`:
 * zstd-compressed JSON lines, one `index` line, then every `frame` line, then `flow` and `class`
 * lines. Times are nanoseconds since the epoch as decimal strings (they exceed 2^53).
 * Readers ignore unknown fields and line types; an unknown `version` means "no index".
 * DESIGN.md ("The index") describes every field. The schemas that check what a reader is given
 * are in schema.ts, apart, so that writing an index does not load zod (about 100 modules: a tenth
 * of a second of every `archive` run).
 */

export const INDEX_VERSION = 1;
export const INDEX_SUFFIX = '.idx.zst';
export const INDEX_CONTENT_TYPE = 'application/zstd';

/** True for an index's name (or file name): "<object>.idx.zst". */
export function isIndexName(name: string): boolean {
  return name.endsWith(INDEX_SUFFIX);
}

/** The index's object name for an archive object's name. */
export function indexName(objectName: string): string {
  return `${objectName}${INDEX_SUFFIX}`;
}

/** The capture's pcap global header, as the index records it. */
export interface PcapHeaderFields {
  magic: string;
  nanosecond: boolean;
  bigEndian: boolean;
  versionMajor: number;
  versionMinor: number;
  snaplen: number;
  linktype: number;
}

/** The first line: the object it indexes and what the index holds. */
export interface IndexLine {
  type: 'index';
  version: number;
  object: string;
  size: number;
  sha256: string;
  codec: 'zstd' | 'gzip';
  pcap: PcapHeaderFields;
  source: string;
  sink: string;
  packets: number;
  bytes: number;
  firstNs: string;
  lastNs: string;
  frames: number;
  flows: number;
  classes: number;
  flowDetail: 'flows' | 'summary';
}

/** A frame's addresses, protocols, ports and classes (only when flows are too many to list). */
export interface FrameSummary {
  v4: string[];
  v6: string[];
  protos: number[];
  ports: Array<[number, number]>;
  vlans: number[];
  untagged: boolean;
  classes: string[];
}

export interface FrameLine {
  type: 'frame';
  i: number;
  offset: number;
  length: number;
  rawOffset: number;
  rawLength: number;
  packets: number;
  firstNs: string;
  lastNs: string;
  summary?: FrameSummary | undefined;
}

/** What a flow line and a class line both say of their packets: when, how many, and where. */
export interface AggregateFields {
  firstNs: string;
  lastNs: string;
  packets: number;
  bytes: number;
  /** Inclusive ranges of frame numbers: [[0,3],[7,7]]. */
  frames: Array<[number, number]>;
}

export interface FlowLine extends AggregateFields {
  type: 'flow';
  v: 4 | 6;
  src: string;
  dst: string;
  proto: number;
  sport: number;
  dport: number;
  vlan?: number | undefined;
}

export interface ClassLine extends AggregateFields {
  type: 'class';
  class: string;
  vlan?: number | undefined;
}

export interface ArchiveIndex {
  index: IndexLine;
  frames: FrameLine[];
  flows: FlowLine[];
  classes: ClassLine[];
}

/**
 * The JSON lines of an index, in the contract's order. Field order is fixed by the objects built
 * here, so the same index always gives the same bytes (a re-upload after a crash is identical).
 */
export function encodeIndexLines(index: ArchiveIndex): string {
  const lines: string[] = [JSON.stringify(index.index)];
  for (const frame of index.frames) lines.push(JSON.stringify(frame));
  for (const flow of index.flows) lines.push(JSON.stringify(flow));
  for (const cls of index.classes) lines.push(JSON.stringify(cls));
  return `${lines.join('\n')}\n`;
}

export class IndexFormatError extends Error {
  override name = 'IndexFormatError';
}
