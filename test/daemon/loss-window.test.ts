import { describe, expect, it } from 'vitest';
import { LossWindow } from '../../agent/daemon/loss-window.js';

describe('LossWindow', () => {
  it('sums the loss noted in the last window and forgets what is older', () => {
    let clock = 0;
    const window = new LossWindow(300, () => clock);
    window.note({ kernelDrops: 5 });
    clock = 100_000;
    window.note({ evictedFiles: 1, evictedPackets: 40 });
    window.note({ writeLostPackets: 7 });
    expect(window.recent()).toEqual({ evictedFiles: 1, evictedPackets: 40, kernelDrops: 5, writeLostPackets: 7 });
    clock = 300_001; // the drops are now older than 300 s
    expect(window.recent()).toEqual({ evictedFiles: 1, evictedPackets: 40, kernelDrops: 0, writeLostPackets: 7 });
    clock = 400_001;
    expect(window.recent()).toEqual({ evictedFiles: 0, evictedPackets: 0, kernelDrops: 0, writeLostPackets: 0 });
  });
});
