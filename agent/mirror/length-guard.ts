/**
 * u32 cannot compare, only mask and test for equality. A length limit (IPv4 total length <= L) is
 * therefore the range [0, L] written as value/mask prefixes, at most 16 for a 16-bit field, the
 * way routers turn port ranges into TCAM entries.
 */
import type { U32Match } from './filter-expression.js';

/** Value/mask pairs on a 16-bit field that together cover exactly [0, max]. */
export function rangePrefixes(max: number): { value: number; mask: number }[] {
  if (!Number.isInteger(max) || max < 0 || max > 0xffff) throw new RangeError(`length ${max} out of 0..65535`);
  const out: { value: number; mask: number }[] = [];
  let start = 0;
  while (start <= max) {
    // The largest aligned block starting at `start` that stays within max.
    let size = start === 0 ? 0x10000 : start & -start;
    while (start + size - 1 > max) size >>= 1;
    out.push({ value: start, mask: (0xffff & ~(size - 1)) >>> 0 });
    start += size;
  }
  return out;
}

/**
 * The matches that admit only packets whose length field at `offset` is at most `max`. A single
 * empty alternative (no match) when every value fits.
 */
export function lengthAtMost(offset: number, max: number): U32Match[][] {
  if (max >= 0xffff) return [[]];
  return rangePrefixes(max).map(({ value, mask }) => [{ size: 16, value, mask, offset }]);
}
