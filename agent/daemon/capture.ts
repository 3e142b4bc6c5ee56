/**
 * Supervises tcpdump: starts it with rotation by size (-C, millions of bytes) and time (-G, which
 * needs a strftime -w pattern), nanosecond timestamps, a kernel buffer (-B, KiB) and a user to drop
 * to (-Z); restarts it with back-off when it exits; logs its stderr; turns its statistics lines
 * (printed on SIGUSR1 and at exit) into metrics.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, readFileSync, rmSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { fsyncDir, fsyncFile } from '../fs/durable.js';
import type { AgentConfig } from './config.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { findCaptureWriters, processAlive, stopAndWait } from './capture-writers.js';
import { holdIfAskedSync } from './spool.js';
import { backoffMs } from '../backoff.js';

/**
 * Runs tcpdump so that it can never outlive the agent or capture unrecorded ($1 = pid file, then the
 * tcpdump command). An inner sh writes its own pid to the pid file (a temp file named as
 * fs/durable.ts names them, then rename) and then execs tcpdump, so the pid is in the file before
 * any packet is captured. A watcher reads the agent's end of a pipe
 * (stdin): it reads end-of-file when the agent closes it or dies in any way, kill -9 included, and
 * then sends tcpdump SIGTERM (tcpdump flushes and closes its file). The wrapper exits with
 * tcpdump's status. Chosen over prctl(PR_SET_PDEATHSIG) (setpriv --pdeathsig): Oracle Linux 8's
 * util-linux 2.32 has no --pdeathsig, and the kernel clears the death signal when tcpdump -Z
 * changes its user. sh cannot fsync, and a `sync` before the exec would delay every capture start:
 * the agent fsyncs the pid file once it has read it (learnPid).
 */
export const TCPDUMP_WRAPPER = [
  'pidfile=$1; shift',
  'exec 3<&0 </dev/null',
  'sh -c \'case $0 in */*) d=${0%/*};; *) d=.;; esac; t="$d/.${0##*/}.$(printf %08x $$).tmp"; echo $$ > "$t" && mv -f "$t" "$0" && exec "$@"\' "$pidfile" "$@" 3<&- &',
  'child=$!',
  '( read -r _ <&3; kill -TERM "$child" 2>/dev/null ) &',
  'watcher=$!',
  'exec 3<&-',
  'wait "$child"',
  'status=$?',
  'kill "$watcher" 2>/dev/null',
  'exit "$status"',
].join('\n');

function readPid(pidFile: string): number | undefined {
  try {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export interface TcpdumpStats {
  captured: number;
  received: number;
  dropped: number;
}

/** Parses "N packets captured / received by filter / dropped by kernel" (one line or three). */
export function parseTcpdumpStats(text: string): Partial<TcpdumpStats> {
  const stats: Partial<TcpdumpStats> = {};
  const captured = /(\d+) packets? captured/.exec(text);
  const received = /(\d+) packets? received by filter/.exec(text);
  const dropped = /(\d+) packets? dropped by kernel/.exec(text);
  if (captured) stats.captured = Number(captured[1]);
  if (received) stats.received = Number(received[1]);
  if (dropped) stats.dropped = Number(dropped[1]);
  return stats;
}

/** The BPF filter for the encapsulations the packer will decapsulate: decap/registry.ts builds it. */
export { captureFilter } from '../decap/registry.js';

export interface CaptureOptions {
  iface: string;
  incomingDir: string;
  /** Where tcpdump's pid is kept, to stop a tcpdump left over by a killed agent. */
  pidFile: string;
  filter: string;
  capture: AgentConfig['capture'];
  /** Overridable for tests. */
  tcpdumpPath?: string;
}

export interface CaptureEvents {
  onStart?: (runId: string) => void;
  onExit?: (runId: string, info: { code: number | undefined; signal: string | undefined; stats: Partial<TcpdumpStats> }) => void;
  onError?: (message: string) => void;
  /** tcpdump's cumulative counters for this run changed; `dropped` is the kernel drops just added. */
  onStats?: (runId: string, stats: TcpdumpStats, dropped: number) => void;
}

/** What the daemon uses of a capture supervisor; a test gives its own, which needs no root. */
export type CaptureControl = Pick<CaptureSupervisor, 'runId' | 'pid' | 'running' | 'restarts' | 'lastExit' | 'start' | 'stop' | 'stopLeftovers'>;

export class CaptureSupervisor {
  /** Run id (start time in ms) of the tcpdump writing now; file names begin with it. */
  runId: string | undefined;
  pid: number | undefined;
  running = false;
  restarts = 0;
  lastExit: { at: string; code: number | undefined; signal: string | undefined; stderr: string } | undefined;
  private child: ResultPromise | undefined;
  private wanted = false;
  private failures = 0;
  private startedAt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private statsTimer: NodeJS.Timeout | undefined;
  private lastStats: TcpdumpStats = { captured: 0, received: 0, dropped: 0 };
  private exited: Promise<void> = Promise.resolve();
  private started = 0;

  constructor(
    private readonly options: CaptureOptions,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
    private readonly events: CaptureEvents = {},
  ) {}

  /**
   * Stops every tcpdump a killed agent left writing into this spool's incoming/, found by what it is
   * (/proc: a tcpdump with -w or an open file there) and by the pid file, and waits until each has
   * exited, so its last block is on disk. The pid file goes only after its process is gone.
   */
  static async stopLeftovers(pidFile: string, incomingDir: string, logger: Logger): Promise<number> {
    const pids = new Set(findCaptureWriters(incomingDir).map((writer) => writer.pid));
    const recorded = readPid(pidFile);
    if (recorded !== undefined && processAlive(recorded)) {
      try {
        if (readFileSync(`/proc/${recorded}/comm`, 'utf8').trim() === 'tcpdump') pids.add(recorded);
      } catch {
        // gone meanwhile
      }
    }
    for (const pid of pids) {
      logger.warn({ pid }, 'stopping a tcpdump left over by a previous agent');
      const how = await stopAndWait(pid);
      if (how === 'killed') logger.warn({ pid }, 'the left-over tcpdump ignored SIGTERM and was killed');
    }
    rmSync(pidFile, { force: true });
    return pids.size;
  }

  /** stopLeftovers for this supervisor's pid file and incoming/. */
  stopLeftovers(): Promise<number> {
    return CaptureSupervisor.stopLeftovers(this.options.pidFile, this.options.incomingDir, this.logger);
  }

  args(runId: string): string[] {
    const c = this.options.capture;
    const args = [
      '-i', this.options.iface,
      '-n',
      '-s', String(c.snaplen),
      '-B', String(c.bufferKiB),
      '--time-stamp-precision=nano',
      '-C', String(c.rotateMegabytes),
      '-G', String(c.rotateSeconds),
      '-w', join(this.options.incomingDir, `${runId}-%Y%m%dT%H%M%S.pcap`),
    ];
    // tcpdump only switches user when started as root; as the service user it already is that user.
    if (process.getuid?.() === 0) args.push('-Z', c.user);
    if (this.options.filter) args.push(this.options.filter);
    return args;
  }

  start(): void {
    this.wanted = true;
    if (!this.child && !this.retryTimer) this.spawn();
  }

  /** Stops tcpdump (it flushes and closes the current file) and resolves once it has exited. */
  async stop(): Promise<void> {
    this.wanted = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const child = this.child;
    if (child) {
      // libpcap (TPACKET_V3) hands packets over in blocks that are retired after its 1 s timeout,
      // and tcpdump drops the unfinished block on SIGTERM: wait for it so the last packets reach the file.
      await new Promise((resolve) => setTimeout(resolve, 1200));
      // Closing the wrapper's stdin is what makes it send tcpdump SIGTERM (as when the agent dies).
      child.stdin?.end();
      const insist = setTimeout(() => {
        if (this.pid !== undefined) this.signalTcpdump('SIGKILL');
        child.kill('SIGKILL');
      }, 15_000);
      await this.exited;
      clearTimeout(insist);
      return;
    }
    await this.exited;
  }

  /** Asks tcpdump for its statistics (it prints them on stderr). */
  requestStats(): void {
    if (this.running) this.signalTcpdump('SIGUSR1');
  }

  private signalTcpdump(signal: NodeJS.Signals): void {
    if (this.pid === undefined) return;
    try {
      process.kill(this.pid, signal);
    } catch {
      // exited meanwhile
    }
  }

  private spawn(): void {
    // Distinct, increasing run ids even for restarts within one millisecond.
    const runId = String(Math.max(Date.now(), this.started + 1)).padStart(13, '0');
    this.started = Number(runId);
    this.runId = runId;
    if (process.getuid?.() === 0) this.chownIncoming();
    const args = this.args(runId);
    this.logger.info({ tcpdump: args.join(' ') }, 'starting capture');
    const { pidFile } = this.options;
    rmSync(pidFile, { force: true });
    // tcpdump runs under a small sh wrapper (see TCPDUMP_WRAPPER): it writes its pid file before it
    // can capture, and gets SIGTERM as soon as this process is gone, however it died.
    const child = execa('/bin/sh', ['-c', TCPDUMP_WRAPPER, 'vtap-archiver-capture', pidFile, this.options.tcpdumpPath ?? 'tcpdump', ...args], {
      reject: false,
      stdin: 'pipe',
      stdout: 'ignore',
      stderr: 'pipe',
      buffer: false,
      cleanup: true,
    });
    holdIfAskedSync(join(pidFile, '..'), this.restarts > 0 ? 'respawned' : 'spawned');
    this.child = child;
    this.pid = undefined;
    this.running = child.pid !== undefined;
    this.startedAt = Date.now();
    this.lastStats = { captured: 0, received: 0, dropped: 0 };
    child.stdin?.on('error', () => undefined); // the wrapper may be gone before we close it
    if (child.pid !== undefined) {
      this.metrics.tcpdumpRunning.set(1);
      void this.learnPid(child, runId);
    }
    let stderrTail = '';
    let pending = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) this.onStderrLine(line, runId);
      stderrTail = (stderrTail + chunk).slice(-2000);
    });
    this.statsTimer = setInterval(() => this.requestStats(), 2_000);
    this.statsTimer.unref();
    this.exited = (async () => {
      const result = await child;
      if (pending) this.onStderrLine(pending, runId);
      clearInterval(this.statsTimer);
      this.child = undefined;
      this.running = false;
      this.pid = undefined;
      rmSync(pidFile, { force: true });
      this.metrics.tcpdumpRunning.set(0);
      // The wrapper exits with tcpdump's status; 128 + n means tcpdump died of signal n.
      let code = result.exitCode;
      let signal: string | undefined = result.signal;
      if (code !== undefined && code > 128 && code < 160) {
        signal = Object.entries(constants.signals).find(([, number]) => number === code! - 128)?.[0] ?? signal;
        code = undefined;
      }
      this.lastExit = { at: new Date().toISOString(), code, signal, stderr: stderrTail.trim().split('\n').slice(-5).join(' | ') };
      const expected = !this.wanted;
      this.runId = undefined;
      this.events.onExit?.(runId, { code, signal, stats: this.lastStats });
      if (expected) {
        this.logger.info({ code, signal, stats: this.lastStats }, 'capture stopped');
        return;
      }
      // Ran for a while: a fresh failure; died at once: back off harder.
      this.failures = Date.now() - this.startedAt > 30_000 ? 1 : this.failures + 1;
      const delay = backoffMs(this.failures - 1, 1000, 30_000);
      const message = `tcpdump exited (code ${code ?? '-'}, signal ${signal ?? '-'}): ${this.lastExit.stderr || 'no message'}; restarting in ${delay} ms`;
      this.logger.error({ code, signal, delayMs: delay }, message);
      this.events.onError?.(message);
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        if (!this.wanted) return;
        this.restarts += 1;
        this.metrics.tcpdumpRestarts.inc();
        this.spawn();
      }, delay);
    })();
  }

  /** The wrapper writes tcpdump's pid before exec'ing it: read it (for SIGUSR1 and status). */
  private async learnPid(child: ResultPromise, runId: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (this.child === child && Date.now() < deadline) {
      const pid = readPid(this.options.pidFile);
      if (pid !== undefined) {
        this.pid = pid;
        this.events.onStart?.(runId);
        // Durable, so a stop after a crash finds it; gone already when tcpdump exited at once.
        await fsyncFile(this.options.pidFile)
          .then(() => fsyncDir(dirname(this.options.pidFile)))
          .catch(() => undefined);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  private onStderrLine(line: string, runId: string): void {
    const text = line.trim();
    if (!text) return;
    const stats = parseTcpdumpStats(text);
    if (Object.keys(stats).length > 0) {
      // Counters are cumulative per tcpdump process: add the difference since the last report.
      const next = { ...this.lastStats, ...stats };
      this.metrics.capturePackets.inc(Math.max(0, next.captured - this.lastStats.captured));
      this.metrics.captureReceived.inc(Math.max(0, next.received - this.lastStats.received));
      this.metrics.kernelDrops.inc(Math.max(0, next.dropped - this.lastStats.dropped));
      if (next.dropped > this.lastStats.dropped) {
        this.logger.warn({ dropped: next.dropped - this.lastStats.dropped }, 'kernel dropped packets: the capture buffer (-B) overflowed');
      }
      this.events.onStats?.(runId, next, Math.max(0, next.dropped - this.lastStats.dropped));
      this.lastStats = next;
      return;
    }
    if (/^(listening on|tcpdump: listening on)/.test(text)) {
      this.logger.info({ tcpdump: text }, 'tcpdump');
      return;
    }
    this.logger.warn({ tcpdump: text }, 'tcpdump says');
  }

  private chownIncoming(): void {
    try {
      const uid = Number(execFileSync('id', ['-u', this.options.capture.user], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', this.options.capture.user], { encoding: 'utf8' }).trim());
      chownSync(this.options.incomingDir, uid, gid);
    } catch (error) {
      this.logger.warn({ user: this.options.capture.user }, `cannot hand incoming/ to the capture user: ${(error as Error).message.split('\n')[0]}`);
    }
  }
}
