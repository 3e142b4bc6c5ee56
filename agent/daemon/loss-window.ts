/**
 * Loss the sink saw recently (evictions, kernel drops, packets whose writes failed): /health reports
 * it as degraded for a while after it happened, then forgets it.
 */

export interface Loss {
  evictedFiles: number;
  evictedPackets: number;
  kernelDrops: number;
  writeLostPackets: number;
}

export class LossWindow {
  private readonly events: Array<Loss & { at: number }> = [];

  constructor(
    readonly seconds: number,
    private readonly now: () => number,
  ) {}

  note(loss: Partial<Loss>): void {
    this.events.push({ at: this.now(), evictedFiles: 0, evictedPackets: 0, kernelDrops: 0, writeLostPackets: 0, ...loss });
  }

  /** Loss in the last `seconds`, summed. */
  recent(): Loss {
    const since = this.now() - this.seconds * 1000;
    while (this.events.length > 0 && this.events[0]!.at < since) this.events.shift();
    const sum: Loss = { evictedFiles: 0, evictedPackets: 0, kernelDrops: 0, writeLostPackets: 0 };
    for (const event of this.events) {
      sum.evictedFiles += event.evictedFiles;
      sum.evictedPackets += event.evictedPackets;
      sum.kernelDrops += event.kernelDrops;
      sum.writeLostPackets += event.writeLostPackets;
    }
    return sum;
  }
}
