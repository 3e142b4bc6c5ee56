/**
 * The zod schemas of the index lines (format.ts is the contract), checked against format.ts's
 * types both ways, and the decoder readers use. Only readers load this (and with it zod).
 */
import { z } from 'zod';
import {
  INDEX_VERSION,
  IndexFormatError,
  type ArchiveIndex,
  type ClassLine,
  type FlowLine,
  type FrameLine,
  type FrameSummary,
  type IndexLine,
  type PcapHeaderFields,
} from './format.js';

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

/** Compiles only when A and B are the same type: the schemas cannot drift from format.ts. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const agree: [
  Same<z.infer<typeof pcapHeaderSchema>, PcapHeaderFields>,
  Same<z.infer<typeof indexLineSchema>, IndexLine>,
  Same<z.infer<typeof frameSummarySchema>, FrameSummary>,
  Same<z.infer<typeof frameLineSchema>, FrameLine>,
  Same<z.infer<typeof flowLineSchema>, FlowLine>,
  Same<z.infer<typeof classLineSchema>, ClassLine>,
] = [true, true, true, true, true, true];
void agree;

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
