/**
 * The agent's store, opened in the background: capture must not wait for Object Storage (an outage
 * at start would otherwise mean no capture at all). Until the store is open, every call fails as
 * a passing outage would, so the uploader backs off and the backlog waits in the spool; the
 * opening is retried with back-off for as long as the agent runs.
 */
import type { Readable } from 'node:stream';
import { TransientStoreError } from '../store/errors.js';
import type { ByteRange, ListOptions, ObjectInfo, ObjectStore, PutRequest, PutResult } from '../store/store.js';
import type { Logger } from './logger.js';
import { backoffMs } from '../backoff.js';

export interface StoreConnectionOptions {
  /** The configured URL, shown until the store itself says where it is. */
  url: string;
  open: () => Promise<ObjectStore>;
  /** Called once, right after the store opened (sweeps, a first upload round). */
  onOpen?: (store: ObjectStore) => void;
  maxBackoffMs: number;
}

export class StoreConnection implements ObjectStore {
  private store: ObjectStore | undefined;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  attempts = 0;
  /** Why the store is not open yet (the last failure), for health and status. */
  problem: string | undefined = 'not opened yet';
  /** Resolves once the store is open, or when the connection is stopped first. */
  opened: Promise<void> = Promise.resolve();

  constructor(
    private readonly options: StoreConnectionOptions,
    private readonly logger: Logger,
  ) {}

  /** Starts opening the store in the background. */
  connect(): void {
    this.opened = this.openLoop();
  }

  get location(): string {
    return this.store?.location ?? this.options.url.replace(/\?.*$/, '');
  }

  get isOpen(): boolean {
    return this.store !== undefined;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.wake?.();
  }

  private async openLoop(): Promise<void> {
    while (!this.stopped) {
      this.attempts += 1;
      try {
        const store = await this.options.open();
        this.store = store;
        this.problem = undefined;
        this.logger.info({ store: store.location, attempts: this.attempts }, 'store open');
        this.options.onOpen?.(store);
        return;
      } catch (error) {
        const message = (error as Error).message.split('\n')[0] ?? String(error);
        const delay = backoffMs(Math.min(this.attempts - 1, 30), 1000, this.options.maxBackoffMs);
        // Said once per distinct problem, then every 20th attempt: an outage may last hours.
        if (message !== this.problem || this.attempts % 20 === 0) {
          this.logger.error({ store: this.location, attempt: this.attempts, retryInMs: delay }, `cannot open the store (capture goes on, the backlog waits in the spool): ${message}`);
        }
        this.problem = message;
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          this.timer = setTimeout(resolve, delay);
        });
        this.wake = undefined;
      }
    }
  }

  private ready(): ObjectStore {
    if (!this.store) throw new TransientStoreError(`store not open yet: ${this.problem ?? 'opening'}`);
    return this.store;
  }

  async put(request: PutRequest): Promise<PutResult> {
    return this.ready().put(request);
  }

  async head(name: string): Promise<ObjectInfo | undefined> {
    return this.ready().head(name);
  }

  list(options?: ListOptions): AsyncIterable<ObjectInfo> {
    return this.ready().list(options);
  }

  async get(name: string, range?: ByteRange): Promise<Readable> {
    return this.ready().get(name, range);
  }
}
