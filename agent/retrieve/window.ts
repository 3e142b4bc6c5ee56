import { BadWindowError } from './errors.js';
import { hourPath } from '../archive/naming.js';

const NS_PER_SEC = 1_000_000_000n;
const ISO = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * A user's time: RFC 3339 with up to nanoseconds and an explicit zone ("2026-11-21T14:05:00.5Z",
 * "2026-11-21 15:05+01:00"), or seconds since the epoch ("1795270451.25"). Returns nanoseconds.
 */
export function parseTime(text: string, what: string): bigint {
  const epoch = /^(\d{1,12})(?:\.(\d{1,9}))?$/.exec(text);
  if (epoch) return BigInt(epoch[1]!) * NS_PER_SEC + BigInt((epoch[2] ?? '').padEnd(9, '0'));
  const m = ISO.exec(text);
  if (!m) {
    throw new BadWindowError(what, text, `invalid ${what} "${text}": use RFC 3339 with a zone (2026-11-21T14:05:00Z) or epoch seconds`);
  }
  const zone = m[8]!;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? '0'));
  if (Number.isNaN(ms)) throw new BadWindowError(what, text, `invalid ${what} "${text}"`);
  let offsetSec = 0;
  if (zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    offsetSec = sign * (Number(digits.slice(0, 2)) * 3600 + Number(digits.slice(2)) * 60);
  }
  return BigInt(ms / 1000 - offsetSec) * NS_PER_SEC + BigInt((m[7] ?? '').padEnd(9, '0'));
}

/** The "YYYY/MM/DD/HH/" paths of every hour that overlaps [fromNs, toNs]. */
export function hoursInWindow(fromNs: bigint, toNs: bigint): string[] {
  const hours: string[] = [];
  const first = Number(fromNs / NS_PER_SEC / 3600n);
  const last = Number(toNs / NS_PER_SEC / 3600n);
  for (let hour = first; hour <= last; hour += 1) hours.push(hourPath(hour * 3600));
  return hours;
}

/**
 * At most this many hours per query. Memory no longer grows with the window (hours are listed one
 * at a time and objects opened only when the merge reaches them), so this only stops a typo in a
 * year from listing a bucket for hours: a quarter of a year.
 */
export const MAX_WINDOW_HOURS = 24 * 92;

const UNIT_NS: Record<string, bigint> = { s: NS_PER_SEC, m: 60n * NS_PER_SEC, h: 3600n * NS_PER_SEC, d: 86400n * NS_PER_SEC };

/** "15m", "2h", "90s", "1d" (also "1.5h") as nanoseconds; undefined when it is not a duration. */
export function parseDuration(text: string): bigint | undefined {
  const m = /^(\d+(?:\.\d+)?)([smhd])$/.exec(text);
  if (!m) return undefined;
  const [whole, frac = ''] = m[1]!.split('.');
  const unit = UNIT_NS[m[2]!]!;
  return BigInt(whole!) * unit + (BigInt(frac.padEnd(9, '0').slice(0, 9)) * unit) / NS_PER_SEC;
}

/** A user's time, also relative to now: "-2h", "-15m", "now". */
export function parseTimeRelative(text: string, what: string, nowNs: bigint): bigint {
  if (text === 'now') return nowNs;
  if (text.startsWith('-')) {
    const ago = parseDuration(text.slice(1));
    if (ago === undefined) throw new BadWindowError(what, text, `invalid ${what} "${text}": a relative time is like -15m, -2h, -1d`);
    return nowNs - ago;
  }
  return parseTime(text, what);
}

export interface Window {
  fromNs: bigint;
  toNs: bigint;
}

/** --from/--to/--last as a window: --last D is [now - D, now]; --to defaults to now. */
export function resolveWindow(flags: { from?: string; to?: string; last?: string }, nowNs: bigint): Window {
  if (flags.last !== undefined) {
    const span = parseDuration(flags.last);
    if (span === undefined) throw new BadWindowError('--last', flags.last, `invalid --last "${flags.last}": use a duration like 15m, 2h, 1d`);
    if (flags.from !== undefined) throw new BadWindowError('--from', flags.from, 'give --last or --from, not both');
    const toNs = flags.to !== undefined ? parseTimeRelative(flags.to, '--to', nowNs) : nowNs;
    return { fromNs: toNs - span, toNs };
  }
  if (flags.from === undefined) throw new BadWindowError('--from', undefined, 'give the window: --from <time> [--to <time>] or --last <duration>');
  const fromNs = parseTimeRelative(flags.from, '--from', nowNs);
  const toNs = flags.to !== undefined ? parseTimeRelative(flags.to, '--to', nowNs) : nowNs;
  if (toNs < fromNs) throw new BadWindowError('--to', flags.to, `--to (${flags.to ?? 'now'}) is before --from (${flags.from})`);
  const hours = Number((toNs - fromNs) / 3_600_000_000_000n) + 1;
  if (hours > MAX_WINDOW_HOURS) throw new BadWindowError('--from', flags.from, `the window spans ${hours} hours; at most ${MAX_WINDOW_HOURS} per query`);
  return { fromNs, toNs };
}

export function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** For a person: local time with the zone offset, e.g. "2026-11-21 15:05:00.123 +01:00". */
export function formatLocal(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const d = new Date(ms);
  const offset = -d.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const abs = Math.abs(offset);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}` +
    `.${pad(d.getMilliseconds(), 3)} ${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
  );
}
