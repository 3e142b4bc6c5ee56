/**
 * Follows the file tcpdump is writing, for health (is it rotating?) and to close a quiet capture:
 * tcpdump rotates on -G only when the next packet arrives, so a burst followed by silence would sit
 * in incoming/ indefinitely. A quiet capture with data is closed by restarting tcpdump.
 */
import { stat } from 'node:fs/promises';
import type { CaptureControl } from './capture.js';
import type { Logger } from './logger.js';
import { compareCaptureNames, parseCaptureName, type Spool } from './spool.js';

/** A pcap file header and nothing else. */
export const HEADER_ONLY = 24;
/** How long a file must not grow, beyond its rotation time, before tcpdump is restarted to close it. */
const QUIET_MS = 5000;

export interface CurrentCaptureFile {
  file: string;
  /** When the agent first saw it (ms). */
  firstSeen: number;
  size: number;
  /** When its size last changed (ms). */
  grewAt: number;
}

export interface QuietCaptureOptions {
  rotateSeconds: number;
  now: () => number;
  /** False while stopping or paused: a closed capture is then not restarted. */
  mayRun: () => boolean;
}

export class QuietCaptureCloser {
  /** The file tcpdump is writing, as last seen; undefined while it is not running. */
  current: CurrentCaptureFile | undefined;

  constructor(
    private readonly capture: CaptureControl,
    private readonly spool: Pick<Spool, 'list' | 'path'>,
    private readonly logger: Logger,
    private readonly options: QuietCaptureOptions,
  ) {}

  /** Looks at the newest file of the running tcpdump; restarts tcpdump if that file has gone quiet. */
  async track(): Promise<void> {
    const runId = this.capture.running ? this.capture.runId : undefined;
    if (!runId) {
      this.current = undefined;
      return;
    }
    const files = (await this.spool.list('incoming')).filter((file) => parseCaptureName(file)?.runId === runId).sort(compareCaptureNames);
    const file = files[files.length - 1];
    if (!file) return;
    const size = (await stat(this.spool.path('incoming', file)).catch(() => undefined))?.size ?? 0;
    const now = this.options.now();
    if (this.current?.file !== file) this.current = { file, firstSeen: now, size, grewAt: now };
    else if (size !== this.current.size) this.current = { ...this.current, size, grewAt: now };
    const quietFor = now - this.current.grewAt;
    const due = now - this.current.firstSeen > this.options.rotateSeconds * 1000 + QUIET_MS;
    if (size > HEADER_ONLY && due && quietFor > QUIET_MS && this.options.mayRun()) {
      this.logger.info({ capture: file, quietSeconds: Math.round(quietFor / 1000) }, 'closing a quiet capture file');
      this.current = undefined;
      await this.capture.stop();
      if (this.options.mayRun()) this.capture.start();
    }
  }
}
