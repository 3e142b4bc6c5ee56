/**
 * Keeps the spool under its quota and the file system above its reserve, so uploads falling behind
 * never fill the disk. Policies:
 * - evict-oldest: delete the oldest not-yet-uploaded data (ready captures and outbox objects) until
 *   back under 90% of the quota, counting and logging every file, byte and packet lost;
 * - pause-capture: stop tcpdump until usage is back under 80%, logging the time window not captured.
 * With evict-oldest, capture is still paused as a last resort when nothing is left to evict.
 */
import { open, readFile, rm, stat, statfs, unlink } from 'node:fs/promises';
import { INDEX_SUFFIX } from '../index/format.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { compareCaptureNames, type Spool, type Stage, type StageUsage } from './spool.js';

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

export interface Eviction {
  kind: 'capture' | 'object';
  file: string;
  bytes: number;
  packets: number;
}

export interface QuotaVerdict {
  usedBytes: number;
  freeBytes: number;
  over: boolean;
  /** Capture must be paused (pause-capture policy, or nothing left to evict). */
  pause: boolean;
  evicted: Eviction[];
  usage: Record<Stage, StageUsage>;
}

/** Counts the records of a classic pcap by walking its record headers (a cut-off tail is not counted). */
export async function countPcapRecords(path: string): Promise<number> {
  const handle = await open(path, 'r');
  try {
    const header = Buffer.alloc(24);
    if ((await handle.read(header, 0, 24, 0)).bytesRead < 24) return 0;
    const magic = header.readUInt32LE(0);
    const little = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
    if (!little && header.readUInt32BE(0) !== 0xa1b2c3d4 && header.readUInt32BE(0) !== 0xa1b23c4d) return 0;
    const size = (await handle.stat()).size;
    const record = Buffer.alloc(16);
    let offset = 24;
    let count = 0;
    while (offset + 16 <= size) {
      if ((await handle.read(record, 0, 16, offset)).bytesRead < 16) break;
      const caplen = little ? record.readUInt32LE(8) : record.readUInt32BE(8);
      if (offset + 16 + caplen > size) break;
      offset += 16 + caplen;
      count += 1;
    }
    return count;
  } finally {
    await handle.close();
  }
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
    const evicted: Eviction[] = [];
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
      if (!file.endsWith('.json')) continue;
      const base = file.slice(0, -'.json'.length);
      const info = await stat(this.spool.path('outbox', base)).catch(() => undefined);
      if (info && !busy.has(base)) list.push({ stage: 'outbox', file: base, mtime: info.mtimeMs });
    }
    return list.sort((a, b) => a.mtime - b.mtime);
  }

  private async evict(candidate: { stage: 'ready' | 'outbox'; file: string }): Promise<Eviction | undefined> {
    try {
      if (candidate.stage === 'ready') {
        const path = this.spool.path('ready', candidate.file);
        const bytes = (await stat(path)).size;
        const packets = await countPcapRecords(path);
        await unlink(path);
        return this.record({ kind: 'capture', file: candidate.file, bytes, packets });
      }
      // The sidecar goes first, so the uploader never picks up a half-deleted object; its index goes with it.
      const sidecar = this.spool.path('outbox', `${candidate.file}.json`);
      const meta = JSON.parse(await readFile(sidecar, 'utf8')) as { packets?: number; name?: string };
      const indexPath = this.spool.path('outbox', `${candidate.file}${INDEX_SUFFIX}`);
      const indexBytes = (await stat(indexPath).catch(() => undefined))?.size ?? 0;
      const bytes = (await stat(this.spool.path('outbox', candidate.file))).size + indexBytes;
      await unlink(sidecar);
      await unlink(this.spool.path('outbox', candidate.file));
      await rm(indexPath, { force: true });
      return this.record({ kind: 'object', file: meta.name ?? candidate.file, bytes, packets: Number(meta.packets ?? 0) });
    } catch (error) {
      // Moved on by the packer or uploader in the meantime: not ours to count.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  private record(eviction: Eviction): Eviction {
    this.metrics.evictedFiles.inc({ kind: eviction.kind });
    this.metrics.evictedBytes.inc(eviction.bytes);
    this.metrics.evictedPackets.inc(eviction.packets);
    this.logger.error({ evicted: eviction }, `spool over quota: evicted ${eviction.kind} ${eviction.file} (${eviction.bytes} bytes, ${eviction.packets} packets) before upload`);
    return eviction;
  }
}
