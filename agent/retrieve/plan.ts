/**
 * agent/retrieve/: what fetch, flows and coverage share: select objects by name and time window,
 * plan frame reads from their indexes (here), read and merge them in time order, write the output.
 * Imports store/, query/, pcap/ and archive/ (naming and decompression); must not import daemon/ or
 * commands/.
 */
import { buffer } from 'node:stream/consumers';
import type { FilterExpr } from '../query/filter-ast.js';
import { classMayMatch, F, flowMayMatch, summaryMayMatch } from '../query/index-matcher.js';
import { indexText, parseIndexText, scanIndexText, type FrameEntry, type IndexHeader, type ObjectIndex } from '../query/index-reader.js';
import type { ObjectStore } from '../store/store.js';
import type { SelectedObject } from './select.js';

/** What one fetch shares: the store, the question, the counters and where warnings go. */
export interface FetchContext {
  store: ObjectStore;
  filter: FilterExpr | undefined;
  fromNs: bigint;
  toNs: bigint;
  stats: FetchStats;
  warn(message: string): void;
}

export interface FetchStats {
  objectsSelected: number;
  objectsRead: number;
  objectsIndexed: number;
  framesRead: number;
  /** Compressed bytes of the window's objects. */
  windowBytes: number;
  /** Bytes actually downloaded: indexes, frame ranges, whole objects. */
  downloaded: number;
  packets: number;
  bytes: number;
  duplicates: number;
  damaged: number;
}

export function emptyStats(): FetchStats {
  return { objectsSelected: 0, objectsRead: 0, objectsIndexed: 0, framesRead: 0, windowBytes: 0, downloaded: 0, packets: 0, bytes: 0, duplicates: 0, damaged: 0 };
}

/** A run of adjacent frames fetched with one ranged GET: [start, end) of the object's bytes. */
export interface FrameRead {
  start: number;
  end: number;
  frames: FrameEntry[];
}

export interface ObjectPlan {
  object: SelectedObject;
  /**
   * The index's header line; undefined: no usable index, read the object in full. Only the header
   * is kept: a plan waits in the lookahead queue and lives while its object is open, and keeping its
   * whole parsed index (flows, frames) made every index outlive young-generation GCs, which grew the
   * heap with the window's length.
   */
  header?: IndexHeader;
  reads: FrameRead[];
  /** The first read, started ahead of time so the merge rarely waits for the network. */
  firstRead?: Promise<Buffer>;
}

/** One GET asks for at most this much: the merge holds one read per open object. */
export const MAX_READ_BYTES = 4 * 1024 * 1024;

/** Downloads an object's bytes [start, end) (or all of it) into memory, counting them. */
export async function download(ctx: FetchContext, name: string, range?: { start: number; end: number }): Promise<Buffer> {
  const body = await ctx.store.get(name, range ? { start: range.start, end: range.end - 1 } : undefined);
  const bytes = await buffer(body);
  ctx.stats.downloaded += bytes.length;
  return bytes;
}

/**
 * Downloads an object's index and hands its text to `parse`; undefined when the object has none or
 * it cannot be used (warned: the object is then read in full).
 */
async function readObjectIndex<T extends { header: IndexHeader }>(
  ctx: FetchContext,
  object: SelectedObject,
  parse: (text: string, indexName: string) => T | undefined,
): Promise<T | undefined> {
  if (!object.indexName) return undefined;
  try {
    const parsed = parse(indexText(await download(ctx, object.indexName), object.indexName), object.indexName);
    if (!parsed) return undefined; // a version we do not know: read in full
    if (parsed.header.size !== object.info.size) {
      ctx.warn(`index ${object.indexName} describes ${parsed.header.size} bytes but the object has ${object.info.size}: reading it in full`);
      return undefined;
    }
    return parsed;
  } catch (error) {
    ctx.warn(`${(error as Error).message}: reading ${object.info.name} in full`);
    return undefined;
  }
}

/** Reads and parses an object's whole index (flows and coverage); undefined when it has none or it cannot be used (warned). */
export function loadIndex(ctx: FetchContext, object: SelectedObject): Promise<ObjectIndex | undefined> {
  return readObjectIndex(ctx, object, parseIndexText);
}

/** An index reduced to what fetch reads: its header and the frames to fetch. */
export interface FrameSelection {
  header: IndexHeader;
  frames: FrameEntry[];
}

/**
 * The frames of an indexed object that overlap the window and whose entries may match the filter,
 * decided line by line as the index is scanned: only the window's frames and one mark per frame
 * are held, never the flow lines, so planning costs the same memory for an index of any size.
 */
export function framesToRead(ctx: Pick<FetchContext, 'filter' | 'fromNs' | 'toNs'>, text: string, indexName: string): FrameSelection | undefined {
  const { filter, fromNs, toNs } = ctx;
  const inWindow = (entry: { firstNs: bigint; lastNs: bigint }) => entry.lastNs >= fromNs && entry.firstNs <= toNs;
  const frames: FrameEntry[] = [];
  let linktype = 1;
  let byFlows = false;
  let marked = new Uint8Array(0);
  const mark = (ranges: Array<[number, number]>) => {
    for (const [a, b] of ranges) marked.fill(1, a, Math.min(b, marked.length - 1) + 1);
  };
  const header = scanIndexText(text, indexName, {
    header(h) {
      linktype = h.pcap.linktype;
      byFlows = filter !== undefined && h.flowDetail !== 'summary';
      marked = new Uint8Array(h.frames);
    },
    frame(frame) {
      if (!inWindow(frame)) return;
      if (filter && !byFlows && frame.summary && summaryMayMatch(filter, linktype, frame.summary) === F) return;
      frames.push(frame);
    },
    flow(flow) {
      if (byFlows && inWindow(flow) && flowMayMatch(filter, linktype, flow) !== F) mark(flow.frames);
    },
    class(entry) {
      if (byFlows && inWindow(entry) && classMayMatch(filter, linktype, entry) !== F) mark(entry.frames);
    },
  });
  if (!header) return undefined;
  const wanted = byFlows ? frames.filter((frame) => marked[frame.i] === 1) : frames;
  return { header, frames: wanted.sort((a, b) => a.i - b.i) };
}

/** Adjacent frames become one read, up to MAX_READ_BYTES. */
export function groupReads(frames: FrameEntry[]): FrameRead[] {
  const reads: FrameRead[] = [];
  for (const frame of frames) {
    const last = reads[reads.length - 1];
    if (last && last.end === frame.offset && frame.offset + frame.length - last.start <= MAX_READ_BYTES) {
      last.end = frame.offset + frame.length;
      last.frames.push(frame);
    } else {
      reads.push({ start: frame.offset, end: frame.offset + frame.length, frames: [frame] });
    }
  }
  return reads;
}

export async function planObject(ctx: FetchContext, object: SelectedObject): Promise<ObjectPlan> {
  const selection = await readObjectIndex(ctx, object, (text, indexName) => framesToRead(ctx, text, indexName));
  if (!selection) return { object, reads: [] };
  const reads = groupReads(selection.frames);
  const plan: ObjectPlan = { object, header: selection.header, reads };
  const first = reads[0];
  if (first) {
    plan.firstRead = download(ctx, object.info.name, first);
    plan.firstRead.catch(() => undefined); // handled when the merge awaits it
  }
  return plan;
}
