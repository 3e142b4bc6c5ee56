import { describe, expect, it } from 'vitest';
import { backoffMs } from '../agent/backoff.js';

describe('backoffMs: exponential, capped, equal jitter', () => {
  it('doubles from base with each failure and stops at max', () => {
    const highs = [0, 1, 2, 3, 10, 1000].map((n) => backoffMs(n, 500, 30_000, () => 1));
    expect(highs).toEqual([500, 1000, 2000, 4000, 30_000, 30_000]);
  });

  it('keeps half of the ceiling fixed: never less, even when the random draw is 0', () => {
    const lows = [0, 1, 2, 3, 10].map((n) => backoffMs(n, 500, 30_000, () => 0));
    expect(lows).toEqual([250, 500, 1000, 2000, 15_000]);
  });

  it('spreads the other half over the random draw, so sinks do not retry in step', () => {
    const delays = [0, 0.25, 0.5, 0.75].map((r) => backoffMs(2, 1000, 60_000, () => r));
    expect(delays).toEqual([2000, 2500, 3000, 3500]);
    const drawn = Array.from({ length: 200 }, () => backoffMs(4, 100, 10_000));
    expect(Math.min(...drawn)).toBeGreaterThanOrEqual(800);
    expect(Math.max(...drawn)).toBeLessThanOrEqual(1600);
    expect(new Set(drawn).size).toBeGreaterThan(10);
  });

  it('treats a negative failure count as the first retry', () => {
    expect(backoffMs(-1, 1000, 30_000, () => 1)).toBe(1000);
  });
});
