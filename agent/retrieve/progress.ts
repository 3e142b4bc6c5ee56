import type { FetchStats } from './plan.js';

const MB = 1e6;

/** Where the line goes: stderr, or any stream that says whether it is a terminal. */
export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

export interface ProgressOptions {
  stream?: ProgressStream;
  /** Redraw period while nothing else draws. */
  intervalMs?: number;
  now?: () => number;
}

/**
 * One status line on stderr, rewritten in place, only when stderr is a terminal: hours listed,
 * objects read of those selected so far, MB downloaded of the window's MB, rate, and an ETA from
 * the share of the window's hours done. Drawn when an hour is done (at most every 200 ms) and on a
 * timer, so even a short fetch shows it once; stdout never carries it.
 */
export class Progress {
  private timer: NodeJS.Timeout | undefined;
  private readonly stream: ProgressStream;
  private readonly now: () => number;
  private readonly started: number;
  private readonly enabled: boolean;
  private lastDraw = -Infinity;
  private hoursDone = 0;
  private hoursTotal = 1;

  constructor(
    private readonly stats: FetchStats,
    options: ProgressOptions = {},
  ) {
    this.stream = options.stream ?? process.stderr;
    this.now = options.now ?? Date.now;
    this.started = this.now();
    this.enabled = Boolean(this.stream.isTTY);
    if (this.enabled) this.timer = setInterval(() => this.draw(), options.intervalMs ?? 500).unref();
  }

  hours(done: number, total: number): void {
    this.hoursDone = done;
    this.hoursTotal = total;
    if (this.enabled && this.now() - this.lastDraw >= 200) this.draw();
  }

  /** The text of the line (without the terminal's carriage return and erase). */
  line(): string {
    const s = this.stats;
    const elapsed = (this.now() - this.started) / 1000;
    const rate = s.downloaded / MB / Math.max(elapsed, 0.001);
    const share = this.hoursDone / this.hoursTotal;
    const eta = share > 0 ? Math.max(0, elapsed / share - elapsed) : undefined;
    return (
      `hour ${this.hoursDone}/${this.hoursTotal}, objects ${s.objectsRead}/${s.objectsSelected}, ` +
      `${(s.downloaded / MB).toFixed(1)} of ${(s.windowBytes / MB).toFixed(1)} MB, ${rate.toFixed(1)} MB/s` +
      (eta !== undefined ? `, ETA ${Math.ceil(eta)} s` : '')
    );
  }

  private draw(): void {
    this.lastDraw = this.now();
    this.stream.write(`\r\x1b[K${this.line()}`);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.enabled) this.stream.write('\r\x1b[K');
  }
}
