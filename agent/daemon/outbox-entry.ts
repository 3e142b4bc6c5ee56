/**
 * The outbox entry: the small JSON file "<object file>.json" beside an archive object in the spool's
 * outbox/ (and, once the store confirmed the object, kept in uploaded/ as the receipt). It is the
 * only thing that makes an object visible to the uploader, so it is written last and atomically.
 * This module is the one place that writes or reads it: one zod schema for both. The format is
 * described in DESIGN.md ("The outbox entry"); a change to it bumps OUTBOX_ENTRY_VERSION.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import type { PackedObject } from '../archive/types.js';
import { writeFileAtomic } from '../fs/durable.js';

/** The entry of object file "x" is "x.json". */
export const OUTBOX_ENTRY_SUFFIX = '.json';
export const OUTBOX_ENTRY_VERSION = 1;

const SHA256 = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex digits');
const COUNT = z.number().int().nonnegative();
/** A file in the same directory as the entry: never a path elsewhere. */
const SIBLING_FILE = z.string().regex(/^[^/]+$/, 'expected a file name in the same directory').refine((name) => name !== '.' && name !== '..', 'expected a file name');

const IndexSchema = z.object({
  name: z.string().min(1),
  file: SIBLING_FILE,
  size: COUNT,
  sha256: SHA256,
  contentType: z.string().min(1).default('application/zstd'),
  flowDetail: z.string().optional(),
});

/**
 * Version 1. Fields after `packets` are informational (kept in receipts for people); entries of
 * agents before versioning carry no `version` and read as version 1. Unknown fields are ignored,
 * so an older agent can read entries that only gained fields.
 */
const EntrySchema = z.object({
  version: z.literal(OUTBOX_ENTRY_VERSION).default(OUTBOX_ENTRY_VERSION),
  name: z.string().min(1),
  size: COUNT,
  sha256: SHA256,
  /** Only in entries of older agents; stores compute MD5 when they need it. */
  md5: z.string().optional(),
  contentType: z.string().min(1).default('application/octet-stream'),
  metadata: z.record(z.string(), z.string()).default({}),
  source: z.string().default(''),
  packets: COUNT.default(0),
  bytes: COUNT.optional(),
  firstNs: z.string().regex(/^\d+$/).optional(),
  lastNs: z.string().regex(/^\d+$/).optional(),
  corrections: COUNT.optional(),
  frames: COUNT.optional(),
  index: IndexSchema.optional(),
});

export type OutboxEntryRecord = z.infer<typeof EntrySchema>;

/** What the uploader works from: the entry with the paths of its files. */
export interface OutboxEntry {
  /** File name of the object (the entry is `${base}.json` beside it). */
  base: string;
  objectPath: string;
  sidecarPath: string;
  name: string;
  size: number;
  sha256: string;
  md5?: string;
  contentType: string;
  metadata: Record<string, string>;
  packets: number;
  source: string;
  /** The object's index file beside it (absent for objects packed without one). */
  index?: OutboxIndex;
}

export interface OutboxIndex {
  name: string;
  path: string;
  size: number;
  sha256: string;
  contentType: string;
  flowDetail?: string;
}

/** An outbox entry that cannot be read: names the file and the first thing wrong with it. */
export class OutboxEntryError extends Error {
  override name = 'OutboxEntryError';
}

/** The entry for a packed object, as written to disk (paths become file names beside it). */
export function outboxEntryRecord(packed: PackedObject): OutboxEntryRecord {
  const { filePath, index, firstNs, lastNs, ...rest } = packed;
  const record = {
    version: OUTBOX_ENTRY_VERSION,
    ...rest,
    firstNs: firstNs.toString(),
    lastNs: lastNs.toString(),
    ...(index
      ? {
          index: {
            name: index.name,
            file: basename(index.filePath),
            size: index.size,
            sha256: index.sha256,
            contentType: index.contentType,
            ...(index.flowDetail !== undefined ? { flowDetail: index.flowDetail } : {}),
          },
        }
      : {}),
  };
  if (index && dirname(index.filePath) !== dirname(filePath)) {
    throw new OutboxEntryError(`${filePath}: its index ${index.filePath} is not beside it`);
  }
  // Checked on the way out too: the agent never writes an entry it would refuse to read.
  return check(record, `${basename(filePath)}${OUTBOX_ENTRY_SUFFIX}`);
}

/** Parses an entry's text; `where` names the file in the error. */
export function parseOutboxEntry(text: string, where: string): OutboxEntryRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new OutboxEntryError(`${where}: not an outbox entry (not JSON: ${(error as Error).message})`);
  }
  return check(raw, where);
}

function check(raw: unknown, where: string): OutboxEntryRecord {
  const version = (raw as { version?: unknown } | null)?.version;
  if (typeof version === 'number' && version > OUTBOX_ENTRY_VERSION) {
    throw new OutboxEntryError(`${where}: outbox entry version ${version} was written by a newer agent (this one reads version ${OUTBOX_ENTRY_VERSION})`);
  }
  const result = EntrySchema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.length > 0 ? issue.path.join('.') : 'entry';
  throw new OutboxEntryError(`${where}: not an outbox entry (${field}: ${issue.message})`);
}

/** Writes the entry of `packed` into `dir` (where its object and index already are), atomically. */
export async function writeOutboxEntry(dir: string, packed: PackedObject): Promise<void> {
  const record = outboxEntryRecord(packed);
  await writeFileAtomic(join(dir, `${basename(packed.filePath)}${OUTBOX_ENTRY_SUFFIX}`), `${JSON.stringify(record, null, 2)}\n`);
}

/** The entry of object file `base` in `dir` with its paths, or undefined when it is not there. */
export async function readOutboxEntry(dir: string, base: string): Promise<OutboxEntry | undefined> {
  const sidecarPath = join(dir, `${base}${OUTBOX_ENTRY_SUFFIX}`);
  let text: string;
  try {
    text = await readFile(sidecarPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const record = parseOutboxEntry(text, sidecarPath);
  return {
    base,
    objectPath: join(dir, base),
    sidecarPath,
    name: record.name,
    size: record.size,
    sha256: record.sha256,
    ...(record.md5 !== undefined ? { md5: record.md5 } : {}),
    contentType: record.contentType,
    metadata: record.metadata,
    packets: record.packets,
    source: record.source,
    ...(record.index
      ? {
          index: {
            name: record.index.name,
            path: join(dir, record.index.file),
            size: record.index.size,
            sha256: record.index.sha256,
            contentType: record.index.contentType,
            ...(record.index.flowDetail !== undefined ? { flowDetail: record.index.flowDetail } : {}),
          },
        }
      : {}),
  };
}
