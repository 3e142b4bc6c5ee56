/**
 * agent/daemon/: the sink agent (`run`): config, capture supervisor, spool, quota, packer and
 * uploader loops, health, metrics and logs (this orchestrator ties them together). Imports archive/,
 * index/, store/, fs/ and vtaps/; must not import retrieve/, query/ or commands/.
 */
/**
 * The sink agent: capture (tcpdump) -> spool (incoming -> ready -> processing -> outbox) -> pack
 * -> upload, with the quota watching the whole spool. Everything on disk is recovered at start
 * before new work; on stop, the last partial capture is packed and uploaded too (or left in the
 * outbox), and the spool is consistent when stop() resolves.
 *
 * This module orchestrates: the order of start and stop, the pack workers, and the wiring of
 * events between the parts. Each job lives beside it: tcpdump in capture.ts (quiet files in
 * quiet-capture.ts, the interface in interface.ts), the spool and quota in spool.ts and quota.ts
 * (the quota alone keeps whether capture is paused), uploads in uploader.ts, metrics in metrics.ts,
 * loss in loss-window.ts and run-ledger.ts, the state file in state.ts. Collaborators that need
 * root or the network (the capture supervisor, the interface, the store) are injectable.
 */
import type { Server } from 'node:http';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { PackOptions } from '../archive/types.js';
import { portOptionsOf } from '../decap/registry.js';
import type { ObjectStore } from '../store/store.js';
import { parseObjectName } from '../archive/naming.js';
import { lowerFrameWorkerPriority } from '../archive/frame-workers.js';
import { AGENT_VERSION } from '../version.js';
import { StoreConnection } from './store-connection.js';
import { filesBeingWritten } from './capture-writers.js';
import { CaptureSupervisor, captureFilter, type CaptureControl, type CaptureEvents, type CaptureOptions } from './capture.js';
import { systemInterface, type CaptureInterface } from './interface.js';
import type { AgentConfig } from './config.js';
import { evaluateHealth, httpSetupError, startHttp, type HealthVerdict } from './health.js';
import type { Logger } from './logger.js';
import { LossWindow } from './loss-window.js';
import { PackMeter, createMetrics, type Metrics } from './metrics.js';
import { Quota } from './quota.js';
import { Spool, compareCaptureNames, holdIfAsked, parseCaptureName, type Packer, type Stage, type StageUsage } from './spool.js';
import { HEADER_ONLY, QuietCaptureCloser } from './quiet-capture.js';
import { RunLedger } from './run-ledger.js';
import { buildState, writeState } from './state.js';
import { Uploader, type UploadRecord } from './uploader.js';

export interface DaemonDeps {
  /** Opens the store; retried in the background until it succeeds (capture never waits for it). */
  openStore: () => Promise<ObjectStore>;
  /** Runs once the store is open (best-effort sweeps). */
  onStoreOpen?: (store: ObjectStore) => Promise<void>;
  packer: Packer;
  logger: Logger;
  metrics?: Metrics;
  tcpdumpPath?: string;
  /** The capture supervisor; tcpdump's by default. A test gives one that needs no root. */
  createCapture?: (options: CaptureOptions, events: CaptureEvents) => CaptureControl;
  /** Finds and prepares the capture interface; the system's by default. */
  captureInterface?: CaptureInterface;
  /** The spool; by default the one in config.spool.dir. */
  spool?: Spool;
  /** Milliseconds since the epoch; Date.now by default. */
  now?: () => number;
}


/**
 * Nice value of the frame-compression threads in the agent: at 10 a runnable tcpdump gets about
 * nine tenths of a contended core. Measured with `npm run bench -- sustained` (DESIGN.md).
 */
const PACK_WORKER_NICE = 10;
/** Below this much free space tcpdump's writes fail (they are buffered in 4 KiB to 64 KiB pieces). */
const DISK_FULL_BYTES = 1 << 20;
/** Loss (evictions, kernel drops, failed writes) stays a health reason this long. */
const LOSS_WINDOW_SECONDS = 300;
/** A capture that fails to pack with the same error this many times goes to rejected/. */
const SAME_FAILURE_LIMIT = 3;
/** Errors that come and go with the machine's state: retried however often they repeat. */
const PASSING_ERRORS = new Set(['ENOSPC', 'EDQUOT', 'ENOMEM', 'EAGAIN', 'EBUSY', 'EINTR']);

export class Daemon {
  readonly spool: Spool;
  readonly metrics: Metrics;
  readonly capture: CaptureControl;
  readonly uploader: Uploader;
  readonly store: StoreConnection;
  readonly quota: Quota;
  readonly iface: string;
  private readonly logger: Logger;
  private readonly packOptions: PackOptions;
  private readonly now: () => number;
  private readonly captureInterface: CaptureInterface;
  private readonly quietCapture: QuietCaptureCloser;
  private readonly packMeter: PackMeter;
  private readonly losses: LossWindow;
  private server: Server | undefined;
  private watcher: FSWatcher | undefined;
  private tick: NodeJS.Timeout | undefined;
  private stopping = false;
  /** Set once capture has stopped and its last files are in ready/: the pack loop may finish. */
  private captureDrained = false;
  private overQuota = false;
  private lastUsage: Record<Stage, StageUsage> | undefined;
  private usedBytes = 0;
  private freeBytes = 0;
  private readonly startedAt: number;
  private scanChain: Promise<void> = Promise.resolve();
  /** Pack workers waiting for a capture; woken when one is ready (or on stop). */
  private readonly packWaiters = new Set<() => void>();
  private packLoopDone: Promise<void> = Promise.resolve();
  private uploadLoopDone: Promise<void> = Promise.resolve();
  private recovery: Promise<void> = Promise.resolve();
  private waitingSince: number | undefined;
  private lastUpload: UploadRecord | undefined;
  private readonly recentErrors: Array<{ at: string; message: string }> = [];
  private totals = { captures: 0, objects: 0, bytes: 0, packets: 0, evictedFiles: 0, evictedBytes: 0, evictedPackets: 0, kernelDrops: 0, writeLostPackets: 0, rejected: 0 };
  private readonly runs = new RunLedger();
  private readonly packFailures = new Map<string, { error: string; count: number }>();
  private diskFull = false;
  private lastHealth: HealthVerdict = { ok: false, status: 'unhealthy', reasons: ['starting'] };
  private quotaRunning = false;
  private ticking = false;
  private loggedHealth: string | undefined;

  constructor(
    private readonly config: AgentConfig & { store: string },
    private readonly deps: DaemonDeps,
  ) {
    this.logger = deps.logger;
    this.metrics = deps.metrics ?? createMetrics();
    this.now = deps.now ?? Date.now;
    this.startedAt = this.now();
    this.losses = new LossWindow(LOSS_WINDOW_SECONDS, this.now);
    this.packMeter = new PackMeter(this.metrics);
    this.spool = deps.spool ?? new Spool(config.spool.dir);
    this.captureInterface = deps.captureInterface ?? systemInterface;
    this.iface = config.interface === 'auto' ? this.captureInterface.detect() : config.interface;
    this.packOptions = {
      decap: config.decap,
      ...portOptionsOf(config),
      split: config.split,
      combined: config.combined,
      unknown: config.unknown,
      codec: config.compress,
      ...(config.level !== undefined ? { level: config.level } : {}),
      sink: config.sink,
      prefix: config.prefix,
    };
    const createCapture =
      deps.createCapture ?? ((options: CaptureOptions, events: CaptureEvents) => new CaptureSupervisor(options, this.logger, this.metrics, events));
    this.capture = createCapture(
      {
        iface: this.iface,
        incomingDir: this.spool.path('incoming'),
        pidFile: join(config.spool.dir, 'tcpdump.pid'),
        filter: captureFilter(config),
        capture: config.capture,
        ...(deps.tcpdumpPath ? { tcpdumpPath: deps.tcpdumpPath } : {}),
      },
      {
        onStart: (runId) => this.runs.started(runId),
        onStats: (runId, stats, dropped) => {
          this.runs.captured(runId, stats.captured);
          if (dropped > 0) {
            this.totals.kernelDrops += dropped;
            this.losses.note({ kernelDrops: dropped });
          }
        },
        onExit: (runId) => {
          this.runs.exited(runId);
          void this.scanIncoming().then(() => this.settleRuns());
        },
        onError: (message) => this.noteError(message),
      },
    );
    this.store = new StoreConnection(
      {
        url: config.store,
        open: deps.openStore,
        maxBackoffMs: config.upload.maxBackoffSeconds * 1000,
        onOpen: (store) => {
          this.metrics.storeOpen.set(1);
          // The uploader backed off while the store was closed: try the backlog now.
          this.uploader.consecutiveFailures = 0;
          this.uploader.poke();
          void deps.onStoreOpen?.(store).catch((error: Error) => this.logger.warn(`after opening the store: ${error.message}`));
        },
      },
      this.logger,
    );
    this.uploader = new Uploader(
      this.spool,
      this.store,
      this.logger,
      this.metrics,
      { maxBackoffMs: config.upload.maxBackoffSeconds * 1000 },
      {
        onUploaded: (record) => {
          this.lastUpload = record;
          this.totals.objects += 1;
          this.totals.bytes += record.size;
          const source = parseObjectName(record.name)?.source;
          if (source) this.metrics.sourceArchivedBytes.inc({ source }, record.size);
        },
        onError: (message) => this.noteError(message),
      },
    );
    this.quietCapture = new QuietCaptureCloser(this.capture, this.spool, this.logger, {
      rotateSeconds: config.capture.rotateSeconds,
      now: this.now,
      mayRun: () => !this.stopping && !this.quota.paused,
    });
    this.quota = new Quota(
      this.spool,
      {
        quotaBytes: config.spool.quotaMegabytes * 1e6,
        reserveBytes: config.spool.reserveMegabytes * 1e6,
        fullBelowBytes: DISK_FULL_BYTES,
        policy: config.spool.policy,
      },
      this.logger,
      this.metrics,
    );
  }

  /** Computed on each request, so a dying tcpdump shows at once, not at the next tick. */
  health(): HealthVerdict {
    const now = this.now();
    const current = this.quietCapture.current;
    const waiting = this.lastUsage?.outbox.files ?? 0;
    const since = waiting > 0 ? Math.max(this.waitingSince ?? now, this.uploader.lastSuccessAt ?? 0) : undefined;
    this.lastHealth = evaluateHealth({
      now,
      tcpdumpRunning: this.capture.running,
      capturePaused: this.quota.paused,
      ...(current ? { currentFile: { createdAt: current.firstSeen, size: current.size, grewAt: current.grewAt } } : {}),
      rotateSeconds: this.config.capture.rotateSeconds,
      rotateBytes: this.config.capture.rotateMegabytes * 1e6,
      overQuota: this.overQuota,
      backlogObjects: waiting,
      ...(since !== undefined ? { waitingSince: since } : {}),
      healthyWithinSeconds: this.config.upload.healthyWithinSeconds,
      shuttingDown: this.stopping,
      ...(this.store.isOpen ? {} : { storeProblem: this.store.problem ?? 'opening' }),
      recent: this.losses.recent(),
      lossWindowSeconds: LOSS_WINDOW_SECONDS,
      ...(this.diskFull ? { diskFull: { freeBytes: this.freeBytes } } : {}),
    });
    this.metrics.healthy.set(this.lastHealth.ok ? 1 : 0);
    this.metrics.degraded.set(this.lastHealth.status === 'degraded' ? 1 : 0);
    const summary = `${this.lastHealth.status}: ${this.lastHealth.reasons.join('; ')}`;
    // Logged when the status or a reason changes, not when only a count or a duration in it does.
    const key = summary.replace(/\d+/g, 'N');
    if (key !== this.loggedHealth) {
      if (this.lastHealth.status === 'healthy') this.logger.info('health: ok');
      else this.logger.warn({ status: this.lastHealth.status, reasons: this.lastHealth.reasons }, `health: ${summary}`);
      this.loggedHealth = key;
    }
    return this.lastHealth;
  }

  /** Counts the packets of runs whose writes failed (disk full), once all their files are accounted for. */
  private async settleRuns(): Promise<void> {
    const exited = this.runs.exitedRuns();
    if (exited.length === 0) return;
    const waiting = new Set<string>();
    for (const stage of ['incoming', 'ready', 'processing'] as const) {
      for (const file of await this.spool.list(stage)) {
        const runId = parseCaptureName(file)?.runId;
        if (runId !== undefined) waiting.add(runId);
      }
    }
    for (const { runId, captured, filed, lost } of this.runs.settle(exited, waiting)) {
      this.metrics.writeLostPackets.inc(lost);
      this.totals.writeLostPackets += lost;
      this.losses.note({ writeLostPackets: lost });
      const message = `${lost} of ${captured} packets tcpdump captured (run ${runId}) never reached the spool: its writes failed (disk full)`;
      this.logger.error({ run: runId, captured, filed, lost }, message);
      this.noteError(message);
    }
  }

  async start(): Promise<void> {
    const { config, logger } = this;
    // Capture first when the cores are short: compression threads yield to tcpdump (frame-workers.ts).
    lowerFrameWorkerPriority(PACK_WORKER_NICE);
    this.spool.init();
    logger.info({ sink: config.sink, store: this.store.location, interface: this.iface, spool: config.spool.dir }, 'vtap-archiver starting');
    // First, so a port in use or a bad address stops the start before anything else happens.
    this.server = await startHttp(config.http.host, config.http.port, () => this.health(), this.metrics.registry).catch((error: NodeJS.ErrnoException) => {
      throw httpSetupError(error, config.http);
    });
    logger.info({ host: config.http.host, port: config.http.port }, 'health and metrics listening');
    // Capture first: every second spent before tcpdump runs is traffic lost at each restart. Only
    // what must precede it does: stopping a left-over tcpdump (two would capture everything twice)
    // and the interface's offloads (read only, when already off).
    await this.capture.stopLeftovers();
    const prepared = this.captureInterface.prepare(this.iface, config.capture.offloads);
    await this.enforceQuota();
    if (!this.quota.paused) this.capture.start();
    for (const problem of prepared.problems) logger.warn({ interface: this.iface }, problem);
    if (prepared.changed.length > 0) logger.info({ interface: this.iface, changed: prepared.changed, mtu: prepared.mtu }, 'capture interface prepared');

    this.store.connect();

    // Polling, not inotify: tcpdump's every write is an inotify event that chokidar stats and
    // throttles, which cost the packers a third of the main thread at 1 Gbps. A stat of the
    // directory every 250 ms sees each new capture file just as well.
    this.watcher = watch(this.spool.path('incoming'), { depth: 0, ignoreInitial: true, usePolling: true, interval: 250, binaryInterval: 250 });
    this.watcher.on('add', () => void this.scanIncoming());
    this.watcher.on('error', (error) => logger.warn(`watcher: ${(error as Error).message}`));
    this.tick = setInterval(() => void this.onTick(), 1000);

    this.recovery = this.recoverSpool();
    await this.recovery;
    await this.onTick();
  }

  /**
   * Runs beside the new capture: files of earlier runs in incoming/ are finished by the scan (no
   * tcpdump writes them any more), the capture left in processing/ is packed again, then the pack
   * and upload loops start.
   */
  private async recoverSpool(): Promise<void> {
    const { logger } = this;
    await this.scanIncoming();
    const { processing, orphans } = await this.spool.recover();
    for (const file of processing) await this.packOne(file);
    await this.spool.removeOrphans(await this.spool.outboxOrphans());
    const backlog = await this.spool.usage();
    logger.info(
      { recovered: { processing: processing.length, orphans: orphans.length }, ready: backlog.ready.files, outbox: backlog.outbox.files },
      'spool recovered',
    );
    this.packLoopDone = Promise.all(Array.from({ length: this.config.pack.workers }, () => this.packLoop())).then(() => undefined);
    this.uploadLoopDone = this.uploader.run();
  }

  /** Graceful stop: capture, then the last partial file, then uploads (bounded), then state. */
  async stop(reason = 'stop requested'): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.logger.info({ reason }, 'stopping: closing capture, then packing and uploading what is left');
    await this.capture.stop();
    await this.scanIncoming();
    this.captureDrained = true;
    this.wakePackers();
    // Stopped while still recovering: recovery finishes first (it starts the pack loops, which
    // then drain ready/ and end).
    await this.recovery.catch(() => undefined);
    await this.packLoopDone;
    await this.settleRuns();
    this.uploader.stop();
    await this.uploadLoopDone;
    const deadline = this.now() + this.config.upload.shutdownSeconds * 1000;
    // Always one more pass, even after failures: the store may be back while the uploader, with an
    // empty outbox (evictions), had no upload to find out with. It stops at the first failure.
    if (this.store.isOpen) await this.uploader.drainOnce(deadline);
    this.store.stop();
    clearInterval(this.tick);
    await this.watcher?.close();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server?.closeAllConnections();
    await this.refresh(true);
    const left = this.lastUsage?.outbox.files ?? 0;
    this.logger.info({ outbox: left }, left > 0 ? 'stopped; objects left in the outbox for the next start' : 'stopped; spool empty');
  }

  private wakePackers(): void {
    for (const wake of [...this.packWaiters]) wake();
  }

  private noteError(message: string): void {
    this.recentErrors.push({ at: new Date(this.now()).toISOString(), message });
    if (this.recentErrors.length > 20) this.recentErrors.shift();
  }

  /**
   * Moves finished captures to ready/: every file of a tcpdump that is no longer running, and
   * every file of the running one except the newest (the one it is writing).
   */
  scanIncoming(): Promise<void> {
    this.scanChain = this.scanChain.then(async () => {
      const files = (await this.spool.list('incoming')).sort(compareCaptureNames);
      const runId = this.capture.running ? this.capture.runId : undefined;
      const ours = files.filter((file) => parseCaptureName(file)?.runId === runId);
      const writing = runId !== undefined ? ours[ours.length - 1] : undefined;
      let finished = files.filter((file) => file !== writing && parseCaptureName(file));
      // A file is finished only when no tcpdump has it open for writing (whoever started it).
      if (finished.length > 0) {
        const open = filesBeingWritten(this.spool.path('incoming'));
        finished = finished.filter((file) => !open.has(file));
      }
      const moved = await this.spool.finishIncoming(finished);
      if (moved.length > 0) {
        this.metrics.captureFiles.inc(moved.length);
        this.wakePackers();
      }
    }).catch((error: Error) => {
      this.logger.error(`scanning incoming/: ${error.message}`);
      this.noteError(`scanning incoming/: ${error.message}`);
    });
    return this.scanChain;
  }

  private async packLoop(): Promise<void> {
    for (;;) {
      try {
        if (await this.packNext()) return;
      } catch (error) {
        const message = `pack loop: ${(error as Error).message}`;
        this.logger.error(message);
        this.noteError(message);
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
    }
  }

  /** Packs the oldest ready capture, or waits for one. Returns true once stopping and nothing is left. */
  private async packNext(): Promise<boolean> {
    {
      const ready = await this.spool.listReady();
      if (ready.length === 0) {
        if (this.captureDrained) return true;
        await new Promise<void>((resolve) => {
          const waiters = this.packWaiters;
          const timer = setTimeout(done, 2000);
          function done() {
            clearTimeout(timer);
            waiters.delete(done);
            resolve();
          }
          waiters.add(done);
        });
        return false;
      }
      const file = ready[0]!;
      if ((await this.spool.move('ready', 'processing', file)) === 'gone') return false; // evicted meanwhile
      await holdIfAsked(this.spool.dir, 'processing');
      await this.packOne(file);
      return false;
    }
  }

  /** Packs one capture in processing/; a capture that is not a pcap goes to rejected/. */
  private async packOne(file: string): Promise<void> {
    const path = this.spool.path('processing', file);
    const size = (await stat(path)).size;
    if (size <= HEADER_ONLY) {
      await this.spool.discard('processing', file); // no packets in it
      this.runs.filed(file, 0);
      return;
    }
    const started = process.hrtime.bigint();
    try {
      const { report } = await this.spool.pack(file, this.deps.packer, this.packOptions);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const out = this.packMeter.record(report, seconds);
      this.totals.captures += 1;
      this.totals.packets += report.packetsIn;
      this.packFailures.delete(file);
      this.runs.filed(file, report.packetsIn);
      if (report.oversized > 0) {
        this.logger.warn({ capture: file, oversized: report.oversized }, 'packets longer than a 9000-byte MTU allows: GRO/LRO is on upstream of the capture');
      }
      if (report.cut) {
        this.logger.warn({ capture: file, cut: report.cut }, 'capture ends inside a record: kept every complete packet');
      }
      this.logger.info(
        { capture: file, packets: report.packetsIn, inputBytes: report.inputBytes, objects: report.objects.length, outputBytes: out, seconds },
        'packed',
      );
      this.uploader.poke();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const text = (error as Error).message;
      this.metrics.packErrors.inc();
      if (code) {
        // A system error: disk full and the like pass, so the capture is retried. The same error
        // again and again (EISDIR, EMFILE on one capture...) will not pass: the capture is set aside.
        const error = `${code}: ${text}`;
        const previous = this.packFailures.get(file);
        const count = previous?.error === error ? previous.count + 1 : 1;
        this.packFailures.set(file, { error, count });
        if (PASSING_ERRORS.has(code) || count < SAME_FAILURE_LIMIT) {
          const message = `packing ${file} failed (${code}, attempt ${count}): ${text}; will retry`;
          this.logger.error(message);
          this.noteError(message);
          await this.spool.move('processing', 'ready', file).catch(() => undefined);
          await new Promise((resolve) => setTimeout(resolve, 5000));
          return;
        }
        this.packFailures.delete(file);
        await this.reject(file, `the same error ${count} times: ${error}`, 'repeated-error');
        return;
      }
      await this.reject(file, text, 'not-a-capture');
    }
  }

  /** Sets a capture aside in rejected/, with "<file>.json" saying why; counted and logged. */
  private async reject(file: string, reason: string, kind: 'repeated-error' | 'not-a-capture'): Promise<void> {
    const message = `capture ${file} cannot be packed: ${reason}; moved to rejected/`;
    this.logger.error({ capture: file, reason }, message);
    this.noteError(message);
    this.metrics.rejectedCaptures.inc({ reason: kind });
    this.totals.rejected += 1;
    this.runs.filed(file, undefined);
    await this.spool.reject(file, { capture: file, reason, kind, at: new Date(this.now()).toISOString() });
  }

  private async enforceQuota(): Promise<void> {
    if (this.quotaRunning) return;
    this.quotaRunning = true;
    try {
      const busy = new Set<string>();
      if (this.uploader.current) busy.add(this.uploader.current);
      // The quota alone keeps whether capture is paused; here only its changes act on the capture.
      const wasPaused = this.quota.paused;
      const verdict = await this.quota.enforce(busy);
      this.overQuota = verdict.over;
      this.usedBytes = verdict.usedBytes;
      this.freeBytes = verdict.freeBytes;
      this.lastUsage = verdict.usage;
      this.noteDiskFull(verdict.freeBytes < DISK_FULL_BYTES);
      for (const eviction of verdict.evicted) {
        if (eviction.kind === 'capture') this.runs.filed(eviction.file, eviction.packets);
        this.losses.note({ evictedFiles: 1, evictedPackets: eviction.packets });
        this.totals.evictedFiles += 1;
        this.totals.evictedBytes += eviction.bytes;
        this.totals.evictedPackets += eviction.packets;
        this.noteError(`evicted ${eviction.kind} ${eviction.file}: ${eviction.bytes} bytes, ${eviction.packets} packets lost`);
      }
      if (verdict.pause && !wasPaused) {
        this.noteError('spool over quota: capture paused');
        if (!this.stopping) await this.capture.stop();
      } else if (!verdict.pause && wasPaused) {
        if (!this.stopping) this.capture.start();
      }
    } finally {
      this.quotaRunning = false;
    }
  }

  /** tcpdump does not report failed writes: a spool file system without room is how they show. */
  private noteDiskFull(full: boolean): void {
    if (full === this.diskFull) return;
    this.diskFull = full;
    this.metrics.diskFull.set(full ? 1 : 0);
    if (full) {
      const message = `spool disk full (${this.freeBytes} bytes free on ${this.config.spool.dir}): tcpdump's writes fail, captured packets are being lost`;
      this.logger.error({ freeBytes: this.freeBytes }, message);
      this.noteError(message);
    } else {
      this.logger.warn({ freeBytes: this.freeBytes }, 'spool disk has room again');
    }
  }

  private async onTick(): Promise<void> {
    // setInterval does not wait: a slow tick (a quiet-file restart takes over a second) must not overlap the next.
    if (this.ticking) return;
    this.ticking = true;
    try {
      await this.enforceQuota();
      await this.scanIncoming();
      await this.quietCapture.track();
      await this.refresh(false);
    } catch (error) {
      this.logger.error(`periodic check failed: ${(error as Error).message}`);
    } finally {
      this.ticking = false;
    }
  }

  private async refresh(final: boolean): Promise<void> {
    const usage = this.lastUsage ?? (await this.spool.usage());
    if (final) {
      this.lastUsage = await this.spool.usage();
      this.usedBytes = Quota.used(this.lastUsage);
    }
    const u = this.lastUsage ?? usage;
    const now = this.now();
    for (const stage of ['ready', 'processing', 'outbox'] as const) {
      this.metrics.backlogFiles.set({ stage }, u[stage].files);
      this.metrics.backlogBytes.set({ stage }, u[stage].bytes);
    }
    const waiting = u.outbox.files;
    if (waiting === 0) this.waitingSince = undefined;
    else if (this.waitingSince === undefined) this.waitingSince = now;
    this.health();
    const state = buildState({
      now,
      startedAt: this.startedAt,
      final,
      pid: process.pid,
      version: AGENT_VERSION,
      sink: this.config.sink,
      interface: this.iface,
      store: { location: this.store.location, isOpen: this.store.isOpen, problem: this.store.problem },
      capture: { running: this.capture.running, pid: this.capture.pid, restarts: this.capture.restarts, lastExit: this.capture.lastExit },
      capturePaused: this.quota.paused,
      spool: { usedBytes: this.usedBytes, quotaBytes: this.config.spool.quotaMegabytes * 1e6, freeBytes: this.freeBytes, stages: u },
      totals: this.totals,
      lastUpload: this.lastUpload,
      health: this.lastHealth,
      recentLoss: { windowSeconds: LOSS_WINDOW_SECONDS, ...this.losses.recent() },
      diskFull: this.diskFull,
      recentErrors: this.recentErrors,
    });
    await writeState(this.config.spool.dir, state);
    if (now % 60_000 < 1000) await this.spool.pruneReceipts();
  }
}
