/**
 * Keeps the spool under its quota and the file system above its reserve, so uploads falling behind
 * never fill the disk. Policies:
 * - evict-oldest: have the spool delete the oldest not-yet-uploaded data (ready captures and outbox objects) until
 *   back under 90% of the quota, counting and logging every file, byte and packet lost;
 * - pause-capture: stop tcpdump until usage is back under 80%, logging the time window not captured.
 * With evict-oldest, capture is still paused as a last resort when nothing is left to evict.
 */
import { stat, statfs } from 'node:fs/promises';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { OUTBOX_ENTRY_SUFFIX } from './outbox-entry.js';
import { compareCaptureNames, type Evicted, type Spool, type Stage, type StageUsage } from './spool.js';

export type QuotaPolicy = 'evict-oldest' | 'pause-capture';

export interface QuotaOptions {
  quotaBytes: number;
  reserveBytes: number;
  /**
   * Free space below which the disk counts as full whatever the reserve says (tcpdump's writes and
   * the packer's output fail there): with nothing left to upload, only evicting a capture frees room,
   * else the spool stays full for good.
   */
  fullBelowBytes?: number;
  policy: QuotaPolicy;
}

export interface QuotaVerdict {
  usedBytes: number;
  freeBytes: number;
  over: boolean;
  /** Capture must be paused (pause-capture policy, or nothing left to evict). */
  pause: boolean;
  evicted: Evicted[];
  usage: Record<Stage, StageUsage>;
}

export class Quota {
  paused = false;
  private pausedSince: number | undefined;

  constructor(
    private readonly spool: Spool,
    private readonly options: QuotaOptions,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {
    metrics.quotaBytes.set(options.quotaBytes);
  }

  /** Spool bytes that count against the quota (receipts and conflicts are small and kept). */
  static used(usage: Record<Stage, StageUsage>): number {
    return usage.incoming.bytes + usage.ready.bytes + usage.processing.bytes + usage.work.bytes + usage.outbox.bytes;
  }

  async free(): Promise<number> {
    const fs = await statfs(this.spool.dir);
    return fs.bavail * fs.bsize;
  }

  /**
   * Measures, applies the policy and says whether capture must pause. `busy` names files that
   * must not be touched (the object being uploaded, the capture being written).
   */
  async enforce(busy: Set<string>): Promise<QuotaVerdict> {
    let usage = await this.spool.usage();
    let used = Quota.used(usage);
    let free = await this.free();
    const { quotaBytes, policy } = this.options;
    const reserveBytes = Math.max(this.options.reserveBytes, this.options.fullBelowBytes ?? 0);
    const over = used > quotaBytes || free < reserveBytes;
    const evicted: Evicted[] = [];
    if (over && policy === 'evict-oldest') {
      const target = quotaBytes * 0.9;
      for (const candidate of await this.candidates(busy)) {
        if (used <= target && free >= reserveBytes) break;
        const eviction = await this.evict(candidate);
        if (!eviction) continue;
        evicted.push(eviction);
        used -= eviction.bytes;
        free += eviction.bytes;
      }
      if (evicted.length > 0) {
        usage = await this.spool.usage();
        used = Quota.used(usage);
        free = await this.free();
      }
    }
    const stillOver = used > quotaBytes || free < reserveBytes;
    // Hysteresis: resume only well under the quota, so capture does not flap.
    const resumeOk = used < quotaBytes * 0.8 && free >= reserveBytes;
    let pause = this.paused;
    if (!this.paused && (policy === 'pause-capture' ? over : stillOver)) pause = true;
    else if (this.paused && resumeOk) pause = false;
    this.setPaused(pause, used, free);
    this.metrics.spoolBytes.set(used);
    return { usedBytes: used, freeBytes: free, over: stillOver, pause, evicted, usage };
  }

  private setPaused(pause: boolean, used: number, free: number): void {
    if (pause === this.paused) return;
    const now = Date.now();
    if (pause) {
      this.pausedSince = now;
      this.logger.error(
        { usedBytes: used, freeBytes: free, quotaBytes: this.options.quotaBytes, policy: this.options.policy },
        'spool over quota: capture paused, traffic from now on is NOT captured until uploads catch up',
      );
    } else {
      const seconds = (now - (this.pausedSince ?? now)) / 1000;
      this.metrics.pausedSeconds.inc(seconds);
      this.logger.error(
        { from: new Date(this.pausedSince ?? now).toISOString(), to: new Date(now).toISOString(), seconds },
        'capture resumed: traffic in this window was not captured',
      );
      this.pausedSince = undefined;
    }
    this.paused = pause;
    this.metrics.capturePaused.set(pause ? 1 : 0);
  }

  /** Oldest first: ready captures and outbox objects, by modification time. */
  private async candidates(busy: Set<string>): Promise<Array<{ stage: 'ready' | 'outbox'; file: string; mtime: number }>> {
    const list: Array<{ stage: 'ready' | 'outbox'; file: string; mtime: number }> = [];
    for (const file of (await this.spool.list('ready')).sort(compareCaptureNames)) {
      const info = await stat(this.spool.path('ready', file)).catch(() => undefined);
      if (info && !busy.has(file)) list.push({ stage: 'ready', file, mtime: info.mtimeMs });
    }
    for (const file of await this.spool.list('outbox')) {
      if (!file.endsWith(OUTBOX_ENTRY_SUFFIX)) continue;
      const base = file.slice(0, -OUTBOX_ENTRY_SUFFIX.length);
      const info = await stat(this.spool.path('outbox', base)).catch(() => undefined);
      if (info && !busy.has(base)) list.push({ stage: 'outbox', file: base, mtime: info.mtimeMs });
    }
    return list.sort((a, b) => a.mtime - b.mtime);
  }

  private async evict(candidate: { stage: 'ready' | 'outbox'; file: string }): Promise<Evicted | undefined> {
    const result = await this.spool.evict(candidate.stage, candidate.file);
    // Moved on by the packer or uploader in the meantime: not lost, not ours to count.
    return result === 'gone' ? undefined : this.record(result);
  }

  private record(eviction: Evicted): Evicted {
    this.metrics.evictedFiles.inc({ kind: eviction.kind });
    this.metrics.evictedBytes.inc(eviction.bytes);
    this.metrics.evictedPackets.inc(eviction.packets);
    this.logger.error({ evicted: eviction }, `spool over quota: evicted ${eviction.kind} ${eviction.file} (${eviction.bytes} bytes, ${eviction.packets} packets) before upload`);
    return eviction;
  }
}
