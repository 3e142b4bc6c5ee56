import { UsageError } from '../usage-error.js';
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
    throw new UsageError(`invalid ${what} "${text}": use RFC 3339 with a zone (2026-11-21T14:05:00Z) or epoch seconds`);
  }
  const zone = m[8]!;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? '0'));
  if (Number.isNaN(ms)) throw new UsageError(`invalid ${what} "${text}"`);
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

/** At most this many hours per query: a typo in a year should not list a bucket for a day. */
export const MAX_WINDOW_HOURS = 24 * 31;
