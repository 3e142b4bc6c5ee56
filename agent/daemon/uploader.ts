/**
 * Drains the outbox into the store, oldest first. A local object is deleted only after the store
 * has confirmed it: put() answers with the size, then head() must show the same size and sha256.
 * A failing store is retried with exponential back-off and equal jitter (agent/backoff.ts says why);
 * the backlog simply waits.
 */
import { existsSync } from 'node:fs';
import { backoffMs } from '../backoff.js';
import { ObjectConflictError, StoreConfigurationError, StoreError } from '../store/errors.js';
import type { ObjectStore } from '../store/store.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { indexPutRequest } from '../index/upload.js';
import { holdIfAsked, type OutboxEntry, type OutboxIndex, type Spool } from './spool.js';

export interface UploadRecord {
  name: string;
  size: number;
  at: string;
  alreadyPresent: boolean;
}

export interface UploaderEvents {
  onUploaded?: (record: UploadRecord) => void;
  onError?: (message: string) => void;
}

export class Uploader {
  /** The object being uploaded now; the quota never evicts it. */
  current: string | undefined;
  consecutiveFailures = 0;
  lastSuccessAt: number | undefined;
  lastFailure: string | undefined;
  private wake: (() => void) | undefined;
  private stopped = false;
  private sleeping: NodeJS.Timeout | undefined;

  constructor(
    private readonly spool: Spool,
    private readonly store: ObjectStore,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
    private readonly options: { baseBackoffMs?: number; maxBackoffMs: number },
    private readonly events: UploaderEvents = {},
  ) {}

  /** New objects arrived: look again now, unless the store is in back-off. */
  poke(): void {
    if (this.consecutiveFailures === 0) this.wake?.();
  }

  /** Runs until stop(); each round uploads everything in the outbox it can. */
  async run(): Promise<void> {
    while (!this.stopped) {
      const progressed = await this.drainOnce();
      if (this.stopped) break;
      const delay =
        this.consecutiveFailures > 0
          ? backoffMs(this.consecutiveFailures - 1, this.options.baseBackoffMs ?? 500, this.options.maxBackoffMs)
          : progressed
            ? 0
            : 5_000;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.sleeping = setTimeout(resolve, delay);
      });
      clearTimeout(this.sleeping);
      this.wake = undefined;
    }
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  /** One pass over the outbox; stops at the first retryable failure. Returns whether anything moved. */
  async drainOnce(deadline?: number): Promise<boolean> {
    let progressed = false;
    for (const entry of await this.spool.listOutbox()) {
      if (this.stopped && deadline === undefined) break;
      if (deadline !== undefined && Date.now() > deadline) break;
      const outcome = await this.uploadOne(entry);
      if (outcome === 'retry') return progressed;
      progressed = true;
    }
    return progressed;
  }

  private async uploadOne(entry: OutboxEntry): Promise<'done' | 'retry' | 'skipped'> {
    this.current = entry.base;
    const started = process.hrtime.bigint();
    try {
      const result = await this.store.put({
        name: entry.name,
        filePath: entry.objectPath,
        size: entry.size,
        sha256: entry.sha256,
        ...(entry.md5 ? { md5: entry.md5 } : {}),
        contentType: entry.contentType,
        metadata: entry.metadata,
      });
      await holdIfAsked(this.spool.dir, 'put');
      if (result.size !== entry.size) throw new Error(`store reports ${result.size} bytes for ${entry.name}, expected ${entry.size}`);
      const info = await this.store.head(entry.name);
      if (!info) throw new Error(`store does not list ${entry.name} right after accepting it`);
      const sha = info.sha256 ?? info.metadata.sha256;
      if (info.size !== entry.size || (sha !== undefined && sha !== entry.sha256)) {
        throw new Error(`store holds ${entry.name} as ${info.size} bytes sha256 ${sha ?? '?'}, expected ${entry.size} bytes ${entry.sha256}`);
      }
      // The index goes up only after its object is confirmed: a store never holds an index without its object.
      if (entry.index) await this.uploadIndex(entry, entry.index);
      await this.spool.markUploaded(entry);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.metrics.uploadSeconds.observe(seconds);
      this.metrics.objectsArchived.inc();
      this.metrics.bytesArchived.inc(entry.size);
      this.metrics.lastUploadTime.set(Date.now() / 1000);
      this.lastSuccessAt = Date.now();
      if (this.consecutiveFailures > 0) this.logger.info({ after: this.consecutiveFailures }, 'store accepts uploads again');
      this.consecutiveFailures = 0;
      this.lastFailure = undefined;
      this.logger.info({ object: entry.name, bytes: entry.size, packets: entry.packets, seconds, alreadyPresent: result.alreadyPresent }, 'uploaded');
      this.events.onUploaded?.({ name: entry.name, size: entry.size, at: new Date().toISOString(), alreadyPresent: result.alreadyPresent });
      return 'done';
    } catch (error) {
      // Evicted by the quota while we were at it (the store then fails to read it): nothing left to upload.
      if (!(await this.spool.holds(entry))) return 'skipped';
      if (error instanceof ObjectConflictError) {
        this.metrics.uploadErrors.inc({ kind: 'conflict' });
        await this.spool.markConflict(entry);
        this.report(`conflict: ${error.message}; kept in conflict/`, 'error');
        return 'skipped';
      }
      const kind = error instanceof StoreConfigurationError ? 'configuration' : error instanceof StoreError ? 'transient' : 'other';
      this.metrics.uploadErrors.inc({ kind });
      this.consecutiveFailures += 1;
      const message = `upload of ${entry.name} failed (${kind}, attempt ${this.consecutiveFailures}): ${(error as Error).message}`;
      // A configuration error will not fix itself quickly: say it once, then keep backing off quietly.
      const repeat = this.lastFailure === message.replace(/attempt \d+/, '');
      this.lastFailure = message.replace(/attempt \d+/, '');
      if (!repeat || this.consecutiveFailures % 20 === 0) this.report(message, kind === 'transient' ? 'warn' : 'error');
      return 'retry';
    } finally {
      this.current = undefined;
    }
  }

  /**
   * Puts and verifies the object's index (the same idempotent put). A different index already
   * under that name (only possible from a different agent version) is kept aside in conflict/: the
   * object itself is stored and stays valid, and readers fall back to reading it in full.
   */
  private async uploadIndex(entry: OutboxEntry, index: OutboxIndex): Promise<void> {
    if (!existsSync(index.path)) {
      // Deleted by hand: the object is valid without its index (readers then read it in full).
      this.report(`index ${index.name} is missing from the outbox; object ${entry.name} stored without it`, 'warn');
      return;
    }
    try {
      await this.store.put(indexPutRequest({ ...index, filePath: index.path }, entry));
    } catch (error) {
      if (!(error instanceof ObjectConflictError)) throw error;
      this.metrics.uploadErrors.inc({ kind: 'conflict' });
      await this.spool.markIndexConflict(entry);
      this.report(`conflict: ${error.message}; index kept in conflict/, object ${entry.name} stored without it`, 'error');
      return;
    }
    await holdIfAsked(this.spool.dir, 'put-index');
    const info = await this.store.head(index.name);
    const sha = info?.sha256 ?? info?.metadata.sha256;
    if (!info || info.size !== index.size || (sha !== undefined && sha !== index.sha256)) {
      throw new Error(`store holds index ${index.name} as ${info?.size ?? 'nothing'} bytes sha256 ${sha ?? '?'}, expected ${index.size} bytes ${index.sha256}`);
    }
  }

  private report(message: string, level: 'warn' | 'error'): void {
    this.logger[level](message);
    this.events.onError?.(message);
  }
}
