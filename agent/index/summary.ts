/**
 * Per-frame summaries for indexes with too many flows to list: address sets as CIDRs and port sets
 * as ranges, each coarsened to at most N entries. A summary is always a superset of what the frame
 * holds, so a reader that skips a frame whose summary does not match never misses a packet.
 */
import type { FrameSummary } from './format.js';

/** An address or prefix as fixed-width lower-case hex (8 digits for IPv4, 32 for IPv6) and a length. */
export interface Prefix {
  hex: string;
  bits: number;
}

/** Bits shared at the start of two equal-width hex strings, at most `limit`. */
function commonBits(a: string, b: string, limit: number): number {
  for (let i = 0; i < a.length; i += 1) {
    if (a.charCodeAt(i) !== b.charCodeAt(i)) {
      const x = parseInt(a[i]!, 16) ^ parseInt(b[i]!, 16);
      return Math.min(limit, i * 4 + (Math.clz32(x) - 28));
    }
  }
  return Math.min(limit, a.length * 4);
}

/** The network part of `hex` for a prefix length, host bits zeroed. */
function maskHex(hex: string, bits: number): string {
  const full = Math.floor(bits / 4);
  const rest = bits % 4;
  let out = hex.slice(0, full);
  if (full < hex.length) {
    out += rest === 0 ? '0' : ((parseInt(hex[full]!, 16) >> (4 - rest)) << (4 - rest)).toString(16);
    out += '0'.repeat(hex.length - full - 1);
  }
  return out;
}

/**
 * At most `max` prefixes covering every input prefix: all of one length, the longest that gives no
 * more than `max` distinct networks (found from the common prefix lengths of sorted neighbours).
 */
export function coarsenPrefixes(input: Prefix[], max: number): Prefix[] {
  if (input.length === 0) return [];
  const width = input[0]!.hex.length * 4;
  const sorted = [...input].sort((a, b) => (a.hex < b.hex ? -1 : a.hex > b.hex ? 1 : 0));
  let length = width;
  for (const p of sorted) length = Math.min(length, p.bits);
  const cuts: number[] = [];
  for (let i = 1; i < sorted.length; i += 1) cuts.push(commonBits(sorted[i - 1]!.hex, sorted[i]!.hex, width));
  cuts.sort((a, b) => a - b);
  // Networks at length L = 1 + neighbours sharing fewer than L bits; keep that <= max.
  if (cuts.length >= max) length = Math.min(length, max >= 1 ? cuts[max - 1]! : 0);
  const out: Prefix[] = [];
  let last = '';
  for (const p of sorted) {
    const hex = maskHex(p.hex, length);
    if (hex !== last) out.push({ hex, bits: length });
    last = hex;
  }
  return out;
}

export function formatPrefix(p: Prefix): string {
  if (p.hex.length === 8) {
    const n = parseInt(p.hex, 16);
    return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}/${p.bits}`;
  }
  const groups = p.hex.match(/.{4}/g)!.map((g) => parseInt(g, 16).toString(16));
  return `${new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1)}/${p.bits}`;
}

export function parsePrefix(text: string): Prefix {
  const [address = '', bits = ''] = text.split('/');
  if (address.includes('.')) {
    const hex = address
      .split('.')
      .map((o) => Number(o).toString(16).padStart(2, '0'))
      .join('');
    return { hex, bits: Number(bits) };
  }
  const [head = '', tail] = address.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return { hex: groups.map((g) => g.padStart(4, '0')).join(''), bits: Number(bits) };
}

/** At most `max` inclusive ranges covering every input range: the smallest gaps are filled first. */
export function coarsenRanges(input: Array<[number, number]>, max: number): Array<[number, number]> {
  if (input.length === 0) return [];
  const sorted = [...input].sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const [lo, hi] of sorted) {
    const last = merged[merged.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else merged.push([lo, hi]);
  }
  if (merged.length <= max) return merged;
  // Keep the (max - 1) widest gaps as separators; everything else merges.
  const gaps = merged.slice(1).map((r, i) => ({ at: i + 1, width: r[0] - merged[i]![1] }));
  gaps.sort((a, b) => b.width - a.width || a.at - b.at);
  const separators = new Set(gaps.slice(0, Math.max(0, max - 1)).map((g) => g.at));
  const out: Array<[number, number]> = [];
  merged.forEach((r, i) => {
    if (i === 0 || separators.has(i)) out.push([r[0], r[1]]);
    else out[out.length - 1]![1] = r[1];
  });
  return out;
}

/** The same summary with every list coarsened to at most `max` entries. */
export function coarsenSummary(summary: FrameSummary, max: number): FrameSummary {
  return {
    ...summary,
    v4: coarsenPrefixes(summary.v4.map(parsePrefix), max).map(formatPrefix),
    v6: coarsenPrefixes(summary.v6.map(parsePrefix), max).map(formatPrefix),
    ports: coarsenRanges(summary.ports, max),
  };
}
