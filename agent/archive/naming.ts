import type { Codec } from './types.js';
import { CODEC_EXTENSION, codecFromName } from './compress.js';

/**
 * Object names are the archive's index:
 *   <prefix>YYYY/MM/DD/HH/<first>_<last>_<source>_<sink>_<hash>.pcap.<gz|zst>
 * - the date/hour path lets a time-window query list only the hours it needs (an object never
 *   spans two hours: the packer starts a new one at each hour boundary);
 * - first/last are UTC packet times with nine fraction digits, so names sort by time;
 * - source ("vxlan-1234"), sink (its id: sink-id.ts) and a content hash make names unique across sinks and restarts,
 *   and the same bytes always get the same name (a re-upload after a crash is idempotent).
 * Only [A-Za-z0-9._/-] appear: safe in Object Storage names, URLs and shells.
 */

export interface ObjectNameParts {
  prefix: string;
  firstSec: number;
  firstNsec: number;
  lastSec: number;
  lastNsec: number;
  source: string;
  sink: string;
  hash: string;
  codec: Codec;
}

export interface ParsedObjectName {
  /** Nanoseconds since the epoch. */
  firstNs: bigint;
  lastNs: bigint;
  source: string;
  sink: string;
  hash: string;
  codec: Codec;
}

const pad = (value: number, width: number) => String(value).padStart(width, '0');

/** 20261121T141503.123456789Z */
export function formatCompactTime(sec: number, nsec: number): string {
  const d = new Date(sec * 1000);
  return (
    `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1, 2)}${pad(d.getUTCDate(), 2)}T` +
    `${pad(d.getUTCHours(), 2)}${pad(d.getUTCMinutes(), 2)}${pad(d.getUTCSeconds(), 2)}.${pad(nsec, 9)}Z`
  );
}

/** 2026-11-21T14:15:03.123456789Z (RFC 3339 with nanoseconds), for metadata and reports. */
export function formatIsoTime(sec: number, nsec: number): string {
  return `${new Date(sec * 1000).toISOString().slice(0, 19)}.${pad(nsec, 9)}Z`;
}

/** "2026/11/21/14/" for the hour that contains `sec`. */
export function hourPath(sec: number): string {
  const d = new Date(sec * 1000);
  return `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1, 2)}/${pad(d.getUTCDate(), 2)}/${pad(d.getUTCHours(), 2)}/`;
}

export function objectName(parts: ObjectNameParts): string {
  return (
    `${parts.prefix}${hourPath(parts.firstSec)}` +
    `${formatCompactTime(parts.firstSec, parts.firstNsec)}_${formatCompactTime(parts.lastSec, parts.lastNsec)}_` +
    `${parts.source}_${parts.sink}_${parts.hash}.pcap.${CODEC_EXTENSION[parts.codec]}`
  );
}

const COMPACT_TIME = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})\.(\d{9})Z$/;

function parseCompactTime(text: string): bigint | undefined {
  const m = COMPACT_TIME.exec(text);
  if (!m) return undefined;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  return BigInt(ms / 1000) * 1_000_000_000n + BigInt(m[7]!);
}

/** Reads the parts back from an object name (any prefix); undefined for names we did not make. */
export function parseObjectName(name: string): ParsedObjectName | undefined {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const codec = codecFromName(base);
  // Only objects: "<object>.pcap.zst.idx.zst" (its index) also ends in .zst.
  if (!codec || !base.endsWith(`.pcap.${CODEC_EXTENSION[codec]}`)) return undefined;
  const stem = base.slice(0, base.length - `.pcap.${CODEC_EXTENSION[codec]}`.length);
  const fields = stem.split('_');
  if (fields.length !== 5) return undefined;
  const [first, last, source, sink, hash] = fields as [string, string, string, string, string];
  const firstNs = parseCompactTime(first);
  const lastNs = parseCompactTime(last);
  if (firstNs === undefined || lastNs === undefined) return undefined;
  return { firstNs, lastNs, source, sink, hash, codec };
}
