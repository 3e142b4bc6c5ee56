import type { ArchiveStream } from './archive-stream.js';

/**
 * Streams the packer may keep open at once. Each holds a file descriptor, a 1 MiB pcap block and a
 * compressor (zstd context or gzip segments in flight): a capture spread over 20,000 (source, hour)
 * pairs once needed 2.96 GB and ran out of descriptors. 64 covers every VTAP layout we know (a few
 * sources, at most two hours per capture) with room to spare, in about 150 MB.
 */
export const DEFAULT_MAX_OPEN_STREAMS = 64;

/** An open stream and its place in the recency order. */
export interface OpenStream {
  readonly stream: ArchiveStream;
  key: number;
  hour: number;
  lastUsed: number;
}

/**
 * The packer's open streams by (source key, hour), at most `limit` of them. Opening one more
 * closes the least recently used: `evict` gets it to finish as an object of its own; when its
 * source comes back in that hour, a new stream (and object) starts. Recency is a counter set on
 * each lookup, and the oldest is found by a scan only when a stream must go (rare, and bounded by
 * `limit`), so the hot path pays one integer store.
 */
export class OpenStreams {
  private readonly byKey = new Map<number, Map<number, OpenStream>>();
  private count = 0;
  private tick = 0;

  constructor(
    private readonly limit: number,
    private readonly evict: (stream: ArchiveStream) => void,
  ) {
    if (!Number.isInteger(limit) || limit < 2) throw new RangeError(`at least 2 open streams are needed (got ${limit})`);
  }

  get size(): number {
    return this.count;
  }

  /** The stream for (key, hour), made by `create` when there is none. */
  get(key: number, hour: number, create: () => ArchiveStream): OpenStream {
    let byHour = this.byKey.get(key);
    let entry = byHour?.get(hour);
    if (!entry) {
      if (this.count >= this.limit) this.evictOldest();
      if (!byHour) this.byKey.set(key, (byHour = new Map()));
      entry = { stream: create(), key, hour, lastUsed: 0 };
      byHour.set(hour, entry);
      this.count += 1;
    }
    entry.lastUsed = ++this.tick;
    return entry;
  }

  /** Marks a stream the caller kept from get() as just used. */
  touch(entry: OpenStream): void {
    entry.lastUsed = ++this.tick;
  }

  /** Every stream still open, in no particular order. */
  all(): ArchiveStream[] {
    const streams: ArchiveStream[] = [];
    for (const byHour of this.byKey.values()) for (const entry of byHour.values()) streams.push(entry.stream);
    return streams;
  }

  private evictOldest(): void {
    let oldest: OpenStream | undefined;
    for (const byHour of this.byKey.values()) {
      for (const entry of byHour.values()) if (!oldest || entry.lastUsed < oldest.lastUsed) oldest = entry;
    }
    if (!oldest) return;
    const byHour = this.byKey.get(oldest.key)!;
    byHour.delete(oldest.hour);
    if (byHour.size === 0) this.byKey.delete(oldest.key);
    this.count -= 1;
    this.evict(oldest.stream);
  }
}
