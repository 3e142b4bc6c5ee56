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

/** Parses the decompressed JSON lines; undefined for a version this reader does not know. */
export function parseIndexText(text: string, indexName: string): ObjectIndex | undefined {
  const lines = text.split('\n').filter((line) => line.trim().length > 0);
  const parseLine = (line: string, n: number): unknown => {
    try {
      return JSON.parse(line);
    } catch {
      throw new IndexFormatError(`${indexName}: line ${n + 1} is not JSON`);
    }
  };
  const first = parseLine(lines[0] ?? '', 0) as { type?: unknown; version?: unknown };
  if (first?.type !== 'index') throw new IndexFormatError(`${indexName}: the first line is not the "index" line`);
  if (first.version !== INDEX_VERSION) return undefined;
  const header = check(headerLine, first, indexName, 0);
  const index: ObjectIndex = { header, frames: [], flows: [], classes: [] };
  for (let n = 1; n < lines.length; n += 1) {
    const value = parseLine(lines[n]!, n) as { type?: unknown };
    if (value?.type === 'frame') index.frames.push(check(frameLine, value, indexName, n));
    else if (value?.type === 'flow') index.flows.push(check(flowLine, value, indexName, n));
    else if (value?.type === 'class') index.classes.push(check(classLine, value, indexName, n));
  }
  index.frames.sort((a, b) => a.i - b.i);
  if (index.frames.length !== header.frames || index.frames.some((f, i) => f.i !== i)) {
    throw new IndexFormatError(`${indexName}: announces ${header.frames} frames but lists ${index.frames.length}`);
  }
  return index;
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
  let text: string;
  try {
    text = zstdDecompressSync(compressed).toString('utf8');
  } catch (error) {
    throw new IndexFormatError(`${indexName}: not a zstd stream (${(error as Error).message})`);
  }
  return parseIndexText(text, indexName);
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
