import type { FetchStats } from './plan.js';

const MB = 1e6;

/**
 * One status line on stderr, rewritten in place, when stderr is a terminal: hours listed, objects
 * and MB downloaded, rate, and an ETA from the share of the window's hours done.
 */
export class Progress {
  private timer: NodeJS.Timeout | undefined;
  private readonly started = Date.now();
  private hoursDone = 0;
  private hoursTotal = 1;

  constructor(
    private readonly stats: FetchStats,
    private readonly enabled = Boolean(process.stderr.isTTY),
  ) {
    if (this.enabled) this.timer = setInterval(() => this.draw(), 500).unref();
  }

  hours(done: number, total: number): void {
    this.hoursDone = done;
    this.hoursTotal = total;
  }

  private draw(): void {
    const s = this.stats;
    const elapsed = (Date.now() - this.started) / 1000;
    const rate = s.downloaded / MB / Math.max(elapsed, 0.001);
    const share = this.hoursDone / this.hoursTotal;
    const eta = share > 0 ? Math.max(0, elapsed / share - elapsed) : undefined;
    const line =
      `hour ${this.hoursDone}/${this.hoursTotal}, objects ${s.objectsRead}/${s.objectsSelected}, ` +
      `${(s.downloaded / MB).toFixed(1)} of ${(s.windowBytes / MB).toFixed(1)} MB, ${rate.toFixed(1)} MB/s` +
      (eta !== undefined ? `, ETA ${Math.ceil(eta)} s` : '');
    process.stderr.write(`\r\x1b[K${line}`);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.enabled) process.stderr.write('\r\x1b[K');
  }
}
