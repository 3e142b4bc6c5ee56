/** tcpdump inside a lab namespace: start it, wait until it listens, stop it and read its closing statistics. */
import type { ChildProcess } from 'node:child_process';
import { LabError, type Netns } from './netns.js';

export interface CaptureStats {
  captured: number;
  receivedByFilter: number;
  droppedByKernel: number;
}

export interface CaptureOptions {
  /** BPF filter, e.g. "udp dst port 4789". */
  filter?: string;
  /** Snap length (default 262144, so 9000-byte mirrored packets are never cut). */
  snaplen?: number;
  /** Kernel buffer in KiB (tcpdump -B; default 16384 = 16 MiB, so bursts are not dropped). */
  bufferKiB?: number;
  /** Nanosecond timestamps (default true). */
  nano?: boolean;
  /** Capture direction (tcpdump -Q in|out|inout). */
  direction?: 'in' | 'out' | 'inout';
  /**
   * Immediate mode (default true): every packet reaches the file at once. Without it libpcap
   * hands packets over in blocks, and tcpdump drops the unfinished block on SIGINT, so stop()
   * then waits one block timeout first. Off for high-rate captures (the benchmark).
   */
  immediate?: boolean;
}

export interface Capture {
  file: string;
  /** Stops tcpdump (SIGINT, so it flushes the file) and returns its statistics. */
  stop(): Promise<CaptureStats>;
}

/** Starts tcpdump on `dev` in `ns`, writing `file`; resolves once tcpdump reports it is listening. */
export async function startCapture(ns: Netns, dev: string, file: string, opts: CaptureOptions = {}): Promise<Capture> {
  const args = ['-i', dev, '-w', file, '-s', String(opts.snaplen ?? 262144), '-B', String(opts.bufferKiB ?? 16384), '-n', '-Z', 'root'];
  if (opts.nano ?? true) args.push('--time-stamp-precision', 'nano');
  if (opts.direction) args.push('-Q', opts.direction);
  const immediate = opts.immediate ?? true;
  if (immediate) args.push('--immediate-mode');
  if (opts.filter) args.push(opts.filter);
  const child = ns.spawn('tcpdump', args);
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr += chunk;
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new LabError(`tcpdump on ${ns.name}/${dev} did not start: ${stderr.trim()}`)), 10_000);
    const check = () => {
      if (/listening on/.test(stderr)) {
        clearTimeout(timer);
        child.stderr?.off('data', check);
        resolve();
      }
    };
    child.stderr?.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new LabError(`tcpdump on ${ns.name}/${dev} exited (${code}): ${stderr.trim()}`));
    });
  });
  return {
    file,
    stop: async () => {
      if (!immediate) await new Promise((resolve) => setTimeout(resolve, 1500));
      return stopTcpdump(child, () => stderr, `${ns.name}/${dev}`);
    },
  };
}

async function stopTcpdump(child: ChildProcess, stderr: () => string, where: string): Promise<CaptureStats> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  return parseTcpdumpStats(stderr(), where);
}

/** Parses tcpdump's closing lines ("N packets captured", "N packets received by filter", "N packets dropped by kernel"). */
export function parseTcpdumpStats(text: string, where = 'tcpdump'): CaptureStats {
  const number = (label: string): number => {
    const match = new RegExp(`(\\d+) packets? ${label}`).exec(text);
    if (!match?.[1]) throw new LabError(`${where}: no "${label}" in tcpdump output: ${text.trim()}`);
    return Number(match[1]);
  };
  return {
    captured: number('captured'),
    receivedByFilter: number('received by filter'),
    droppedByKernel: number('dropped by kernel'),
  };
}
