import { zstdDecompressSync } from 'node:zlib';
import { z } from 'zod';
import { INDEX_SUFFIX, INDEX_VERSION, IndexFormatError } from '../index/format.js';
import { classLineSchema, flowLineSchema, frameLineSchema, indexLineSchema, nsString } from '../index/schema.js';

/**
 * Reads an object's index (`<object>.idx.zst`, zstd-compressed JSON lines, format version 1). The
 * format and its schemas belong to agent/index/format.ts (DESIGN.md, "The index"); this reader
 * takes them as they are and only turns the decimal-string times into BigInt nanoseconds. Unknown
 * fields and line types are ignored; an unknown version means "no index" (the object is then read in full).
 */

export { INDEX_SUFFIX, INDEX_VERSION, IndexFormatError };

const ns = nsString.transform((text) => BigInt(text));
const times = { firstNs: ns, lastNs: ns };

const headerLine = indexLineSchema.extend(times);
const frameLine = frameLineSchema.extend(times);
const flowLine = flowLineSchema.extend(times);
const classLine = classLineSchema.extend(times);

export type IndexHeader = z.infer<typeof headerLine>;
export type FrameEntry = z.infer<typeof frameLine>;
export type { FrameSummary } from '../index/format.js';
export type FlowEntry = z.infer<typeof flowLine>;
export type ClassEntry = z.infer<typeof classLine>;

export interface ObjectIndex {
  header: IndexHeader;
  frames: FrameEntry[];
  flows: FlowEntry[];
  classes: ClassEntry[];
}

/** What a scan hands on, line by line; nothing is kept unless the visitor keeps it. */
export interface IndexVisitor {
  /** The header line, before any other line is handed on. */
  header?(header: IndexHeader): void;
  frame?(entry: FrameEntry): void;
  flow?(entry: FlowEntry): void;
  class?(entry: ClassEntry): void;
}

/**
 * Walks the decompressed JSON lines once, checking each against the format's schemas and handing
 * it to the visitor, without building arrays of lines or entries: fetch plans an object from an
 * index of any size while holding only its frames and the frames it marked. Returns the header
 * line, or undefined for a version this reader does not know. Checks that the frame lines are
 * exactly frames 0..n-1 of the header's count.
 */
export function scanIndexText(text: string, indexName: string, visitor: IndexVisitor): IndexHeader | undefined {
  let header: IndexHeader | undefined;
  let n = 0; // non-blank lines, for messages
  let frames = 0;
  let seen: Uint8Array | undefined;
  let framesInOrder = true;
  for (let from = 0; from < text.length; ) {
    let to = text.indexOf('\n', from);
    if (to < 0) to = text.length;
    const line = text.slice(from, to);
    from = to + 1;
    if (line.trim().length === 0) continue;
    const value = parseLine(line, n, indexName) as { type?: unknown; version?: unknown; i?: unknown };
    if (n === 0) {
      if (value?.type !== 'index') throw new IndexFormatError(`${indexName}: the first line is not the "index" line`);
      if (value.version !== INDEX_VERSION) return undefined;
      header = check(headerLine, value, indexName, 0);
      seen = new Uint8Array(header.frames);
      visitor.header?.(header);
    } else if (value?.type === 'frame') {
      const frame = check(frameLine, value, indexName, n);
      frames += 1;
      if (frame.i >= seen!.length || seen![frame.i]) framesInOrder = false;
      else seen![frame.i] = 1;
      visitor.frame?.(frame);
    } else if (value?.type === 'flow') {
      visitor.flow?.(check(flowLine, value, indexName, n));
    } else if (value?.type === 'class') {
      visitor.class?.(check(classLine, value, indexName, n));
    }
    n += 1;
  }
  if (!header) {
    parseLine('', 0, indexName); // an empty index: "line 1 is not JSON"
    throw new IndexFormatError(`${indexName}: the first line is not the "index" line`);
  }
  if (!framesInOrder || frames !== header.frames) {
    throw new IndexFormatError(`${indexName}: announces ${header.frames} frames but lists ${frames}`);
  }
  return header;
}

function parseLine(line: string, n: number, indexName: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    throw new IndexFormatError(`${indexName}: line ${n + 1} is not JSON`);
  }
}

/** Parses the decompressed JSON lines whole; undefined for a version this reader does not know. */
export function parseIndexText(text: string, indexName: string): ObjectIndex | undefined {
  const frames: FrameEntry[] = [];
  const flows: FlowEntry[] = [];
  const classes: ClassEntry[] = [];
  const header = scanIndexText(text, indexName, {
    frame: (entry) => frames.push(entry),
    flow: (entry) => flows.push(entry),
    class: (entry) => classes.push(entry),
  });
  if (!header) return undefined;
  return { header, frames: frames.sort((a, b) => a.i - b.i), flows, classes };
}

/** Decompresses an index object's bytes to its text. */
export function indexText(compressed: Buffer, indexName: string): string {
  try {
    return zstdDecompressSync(compressed).toString('utf8');
  } catch (error) {
    throw new IndexFormatError(`${indexName}: not a zstd stream (${(error as Error).message})`);
  }
}

function check<T extends z.ZodType>(schema: T, value: unknown, indexName: string, n: number): z.infer<T> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new IndexFormatError(`${indexName}: line ${n + 1}: ${issue?.path.join('.') || 'value'}: ${issue?.message ?? 'invalid'}`);
  }
  return result.data;
}

/** Decompresses and parses an index object's bytes. */
export function readIndex(compressed: Buffer, indexName: string): ObjectIndex | undefined {
  return parseIndexText(indexText(compressed, indexName), indexName);
}

/** The 24-byte pcap global header the index describes, to put before a frame other than frame 0. */
export function pcapHeaderFromIndex(header: IndexHeader): Buffer {
  const out = Buffer.alloc(24);
  const le = !header.pcap.bigEndian;
  const u32 = (v: number, o: number) => (le ? out.writeUInt32LE(v, o) : out.writeUInt32BE(v, o));
  const u16 = (v: number, o: number) => (le ? out.writeUInt16LE(v, o) : out.writeUInt16BE(v, o));
  u32(header.pcap.nanosecond ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  u16(header.pcap.versionMajor, 4);
  u16(header.pcap.versionMinor, 6);
  u32(header.pcap.snaplen, 16);
  u32(header.pcap.linktype, 20);
  return out;
}
