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
 * DESIGN.md ("The index") describes every field.
 */
import { z } from 'zod';

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

export const nsString = z.string().regex(/^\d+$/, 'nanoseconds as a decimal string');
const count = z.number().int().nonnegative();
/** Inclusive ranges of frame numbers: [[0,3],[7,7]]. */
const frameRanges = z.array(z.tuple([count, count]));

export const pcapHeaderSchema = z.object({
  magic: z.string(),
  nanosecond: z.boolean(),
  bigEndian: z.boolean(),
  versionMajor: count,
  versionMinor: count,
  snaplen: count,
  linktype: count,
});

export const indexLineSchema = z.object({
  type: z.literal('index'),
  version: z.number().int(),
  object: z.string(),
  size: count,
  sha256: z.string(),
  codec: z.enum(['zstd', 'gzip']),
  pcap: pcapHeaderSchema,
  source: z.string(),
  sink: z.string(),
  packets: count,
  bytes: count,
  firstNs: nsString,
  lastNs: nsString,
  frames: count,
  flows: count,
  classes: count,
  flowDetail: z.enum(['flows', 'summary']),
});

export const frameSummarySchema = z.object({
  v4: z.array(z.string()),
  v6: z.array(z.string()),
  protos: z.array(count),
  ports: z.array(z.tuple([count, count])),
  vlans: z.array(count),
  untagged: z.boolean(),
  classes: z.array(z.string()),
});

export const frameLineSchema = z.object({
  type: z.literal('frame'),
  i: count,
  offset: count,
  length: count,
  rawOffset: count,
  rawLength: count,
  packets: count,
  firstNs: nsString,
  lastNs: nsString,
  summary: frameSummarySchema.optional(),
});

/** What a flow line and a class line both say of their packets: when, how many, and where. */
const aggregateFields = {
  firstNs: nsString,
  lastNs: nsString,
  packets: count,
  bytes: count,
  frames: frameRanges,
};

export const flowLineSchema = z.object({
  type: z.literal('flow'),
  v: z.union([z.literal(4), z.literal(6)]),
  src: z.string(),
  dst: z.string(),
  proto: count,
  sport: count,
  dport: count,
  vlan: count.optional(),
  ...aggregateFields,
});

export const classLineSchema = z.object({
  type: z.literal('class'),
  class: z.string(),
  vlan: count.optional(),
  ...aggregateFields,
});

export type PcapHeaderFields = z.infer<typeof pcapHeaderSchema>;
export type IndexLine = z.infer<typeof indexLineSchema>;
export type FrameSummary = z.infer<typeof frameSummarySchema>;
export type FrameLine = z.infer<typeof frameLineSchema>;
export type FlowLine = z.infer<typeof flowLineSchema>;
export type ClassLine = z.infer<typeof classLineSchema>;

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

/**
 * Parses decompressed index text. Returns undefined for a version this reader does not know (the
 * object is then read in full); throws IndexFormatError for text that is not an index at all.
 */
export function decodeIndexLines(text: string): ArchiveIndex | undefined {
  const lines = text.split('\n').filter((line) => line.trim().length > 0);
  if (lines.length === 0) throw new IndexFormatError('empty index');
  const parse = (line: string, at: number): unknown => {
    try {
      return JSON.parse(line);
    } catch {
      throw new IndexFormatError(`index line ${at + 1} is not JSON`);
    }
  };
  const head = parse(lines[0]!, 0) as { type?: unknown; version?: unknown };
  if (head.type !== 'index') throw new IndexFormatError('the first index line is not of type "index"');
  if (head.version !== INDEX_VERSION) return undefined;
  const result: ArchiveIndex = { index: indexLineSchema.parse(head), frames: [], flows: [], classes: [] };
  lines.slice(1).forEach((line, i) => {
    const value = parse(line, i + 1) as { type?: unknown };
    const check = <T>(schema: z.ZodType<T>): T => {
      const parsed = schema.safeParse(value);
      if (!parsed.success) throw new IndexFormatError(`index line ${i + 2} (${String(value.type)}): ${parsed.error.issues[0]?.message ?? 'invalid'}`);
      return parsed.data;
    };
    if (value.type === 'frame') result.frames.push(check(frameLineSchema));
    else if (value.type === 'flow') result.flows.push(check(flowLineSchema));
    else if (value.type === 'class') result.classes.push(check(classLineSchema));
  });
  return result;
}
