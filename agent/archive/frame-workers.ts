/**
 * A process-wide pool of worker threads that compress frames: one fewer than the cores the process
 * may run on (taskset is honoured), because the calling thread is a core too. A frame goes to an
 * idle worker; when none is idle, the calling thread compresses it itself, synchronously.
 * Measured on the bench capture, one core: node:zlib's one-shot zstdCompressSync of 1 MiB blocks
 * costs 0.26 s per 100 MB of CPU, its async zstdCompress (the libuv thread pool) 0.70-0.82 s, a
 * zstd stream ending a frame per block 0.37 s; and on one core, handing every frame to a worker
 * (copy, message, a second thread's start-up) cost 0.5 s of CPU more per 225 MB than compressing
 * in place (2.4 s against 1.9 s, pack-once under taskset). Every pack in the process shares the
 * same workers: they share the cores, not compete for them.
 *
 * Every thread keeps one FrameEncoder per codec and level, and frames are written into output
 * buffers that come back for reuse once the caller has written them out (`release`): fresh memory
 * per frame cost more in page faults than the compression itself (frame-encoder.ts).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import zlib from 'node:zlib';
import { FrameEncoder, type FrameCodecName } from './frame-encoder.js';

export interface FrameJob {
  codec: FrameCodecName;
  level: number;
  data: Uint8Array;
  /**
   * True when the caller will call the result's `release` once it no longer reads the frame; the
   * frame's memory then comes from (and goes back to) a pool. Otherwise the frame is the caller's.
   */
  recycle?: boolean;
}

export interface FrameResult {
  frame: Buffer;
  /** CRC-32 of the input (deflate jobs: the gzip trailer needs it). */
  crc: number;
  /** With `recycle`: gives the frame's memory back; call it once, when nothing reads the frame any more. */
  release?: () => void;
}

/**
 * The encoders of one thread, by codec and level. The same function runs inside the workers (see
 * WORKER_SOURCE), so it takes its dependencies as arguments.
 */
function encoderCache(zlibModule: typeof import('node:zlib'), Encoder: typeof FrameEncoder): (codec: FrameCodecName, level: number) => FrameEncoder {
  const encoders = new Map<string, FrameEncoder>();
  return (codec, level) => {
    const key = `${codec}:${level}`;
    let encoder = encoders.get(key);
    // A context that failed once is replaced, so one bad frame does not fail every later one.
    if (!encoder || encoder.broken) encoders.set(key, (encoder = new Encoder(zlibModule, codec, level)));
    return encoder;
  };
}

/** The worker: CommonJS source run with `eval`, so it works from dist/ and from the TypeScript sources alike. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const zlib = require('node:zlib');
if (workerData.nice > 0) {
  // Linux: setpriority on a thread id renices that thread alone (/proc/thread-self names it).
  try {
    const tid = Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop());
    require('node:os').setPriority(tid, workerData.nice);
  } catch {
    // No /proc or not Linux: the worker runs at the process's priority.
  }
}
const FrameEncoder = ${FrameEncoder.toString()};
const encoderFor = (${encoderCache.toString()})(zlib, FrameEncoder);
parentPort.on('message', ({ id, codec, level, buffer, length, out, allocate }) => {
  try {
    // The output buffer came from the caller's pool; one too small is replaced (and then pooled).
    const frame = encoderFor(codec, level).encodeFrame(new Uint8Array(buffer, 0, length), out, allocate);
    out = frame.memory;
    // Both buffers move back, not copied: the input for the next block, the output holding the frame.
    parentPort.postMessage({ id, out, frameLength: frame.length, crc: frame.crc, buffer }, [buffer, out]);
  } catch (error) {
    const transfer = out ? [buffer, out] : [buffer];
    parentPort.postMessage({ id, error: String(error && error.message || error), buffer, out }, transfer);
  }
});
`;

interface Pending {
  resolve: (result: FrameResult) => void;
  reject: (error: Error) => void;
  recycle: boolean;
}

interface PoolWorker {
  worker: Worker;
  inFlight: number;
}

interface WorkerReply {
  id: number;
  out?: ArrayBuffer;
  frameLength?: number;
  crc?: number;
  error?: string;
  buffer?: ArrayBuffer;
}

/**
 * Frames a worker holds at most. More than two, because this thread sees a worker's replies only
 * when it returns to the event loop (after each 4 MiB read, about four frames): measured on two
 * cores, 2 left half the frames (101 of 207) to this thread, 4 left 44.
 */
const QUEUED_PER_WORKER = 4;
/** Buffers kept for reuse, each kind: enough for every frame in flight and being written on two cores. */
const MAX_SPARE = 16;
const MIN_BUFFER = 1 << 20;

/** Size of a new output buffer: pooled ones hold any frame of a 1 MiB block; others just their frame. */
function outputSize(recycle: boolean): number {
  return recycle ? FrameEncoder.bound(MIN_BUFFER) : 0;
}

class FrameWorkerPool {
  private readonly workers: PoolWorker[] = [];
  /** Input transfer buffers: they shuttle blocks to the workers and come straight back. */
  private readonly spareInput: ArrayBuffer[] = [];
  /** Output buffers: lent with a frame, back when the caller releases it. */
  private readonly spareOutput: ArrayBuffer[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly encoderFor = encoderCache(zlib, FrameEncoder);
  private nextId = 0;

  constructor(private readonly size: number) {}

  run(job: FrameJob): Promise<FrameResult> {
    const slot = this.pick();
    if (!slot) {
      try {
        return Promise.resolve(this.compressHere(job));
      } catch (error) {
        // Worded as a worker's failure is (onReply).
        return Promise.reject(new Error(`frame compression failed: ${error instanceof Error ? error.message : String(error)}`));
      }
    }
    const id = this.nextId++;
    return new Promise<FrameResult>((resolve, reject) => {
      const recycle = job.recycle === true;
      this.pending.set(id, { resolve, reject, recycle });
      slot.inFlight += 1;
      // A busy worker keeps the process alive until its frame is back; an idle one does not.
      if (slot.inFlight === 1) slot.worker.ref();
      // One copy into a transfer buffer (cheaper than a structured clone), then moved, not copied:
      // the caller's block is free again as soon as this returns.
      const length = job.data.length;
      let buffer = this.spareInput.pop();
      if (!buffer || buffer.byteLength < length) buffer = new ArrayBuffer(Math.max(length, MIN_BUFFER));
      new Uint8Array(buffer, 0, length).set(job.data);
      const out = recycle ? this.spareOutput.pop() : undefined;
      const transfer = out ? [buffer, out] : [buffer];
      slot.worker.postMessage({ id, codec: job.codec, level: job.level, buffer, length, out, allocate: outputSize(recycle) }, transfer);
    });
  }

  /** Compresses on the calling thread, into a pooled output buffer when the caller recycles. */
  private compressHere(job: FrameJob): FrameResult {
    const recycle = job.recycle === true;
    const encoder = this.encoderFor(job.codec, job.level);
    const { memory, length, crc } = encoder.encodeFrame(job.data, recycle ? this.spareOutput.pop() : undefined, outputSize(recycle));
    const frame = Buffer.from(memory, 0, length);
    return recycle ? { frame, crc, release: () => this.giveOutput(memory) } : { frame, crc };
  }

  private giveOutput(memory: ArrayBuffer): void {
    if (this.spareOutput.length < MAX_SPARE) this.spareOutput.push(memory);
  }

  /**
   * An idle worker (started if the pool has room), else the least busy one while it has fewer than
   * QUEUED_PER_WORKER frames; undefined when all are that busy: then this thread compresses the
   * frame itself. The queue keeps a worker from idling between frames while this thread parses;
   * compressing here only when the workers are behind keeps this thread, which alone parses, from
   * doing more than its share.
   */
  private pick(): PoolWorker | undefined {
    let least: PoolWorker | undefined;
    for (const slot of this.workers) if (!least || slot.inFlight < least.inFlight) least = slot;
    if (least && least.inFlight === 0) return least;
    if (this.workers.length < this.size) return this.spawn();
    return least && least.inFlight < QUEUED_PER_WORKER ? least : undefined;
  }

  private spawn(): PoolWorker {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { nice: workerNice } });
    const slot: PoolWorker = { worker, inFlight: 0 };
    worker.unref();
    worker.on('message', (message: WorkerReply) => this.onReply(slot, message));
    worker.on('error', (error) => this.failAll(error));
    worker.on('exit', () => {
      const at = this.workers.indexOf(slot);
      if (at >= 0) this.workers.splice(at, 1);
    });
    this.workers.push(slot);
    return slot;
  }

  private onReply(slot: PoolWorker, message: WorkerReply): void {
    slot.inFlight -= 1;
    if (message.buffer && this.spareInput.length < MAX_SPARE) this.spareInput.push(message.buffer);
    if (slot.inFlight === 0) slot.worker.unref();
    const waiting = this.pending.get(message.id);
    this.pending.delete(message.id);
    const out = message.out;
    if (!waiting || message.error !== undefined || !out || message.frameLength === undefined) {
      if (out) this.giveOutput(out);
      waiting?.reject(new Error(`frame compression failed: ${message.error ?? 'no output'}`));
      return;
    }
    const frame = Buffer.from(out, 0, message.frameLength);
    const crc = message.crc ?? 0;
    waiting.resolve(waiting.recycle ? { frame, crc, release: () => this.giveOutput(out) } : { frame, crc });
  }

  private failAll(error: Error): void {
    for (const waiting of this.pending.values()) waiting.reject(error);
    this.pending.clear();
  }
}

let pool: FrameWorkerPool | undefined;
let workerNice = 0;

/**
 * Frame workers started from now on run at this nice value (0-19; Linux). The agent lowers them so
 * that, when the cores are short, tcpdump is scheduled before compression: a capture that falls
 * behind loses packets in the kernel for good, a pack that falls behind only grows the backlog.
 * Raising priority back needs privileges the agent does not have, so only workers are lowered,
 * never the thread that spawns tcpdump.
 */
export function lowerFrameWorkerPriority(nice: number): void {
  workerNice = Math.max(0, Math.min(19, Math.trunc(nice)));
}

/** Compresses one frame on the shared pool (started on first use). */
export function compressOnWorker(job: FrameJob): Promise<FrameResult> {
  // The calling thread is one of the cores: with taskset to one core there are no workers at all.
  pool ??= new FrameWorkerPool(availableParallelism() - 1);
  return pool.run(job);
}
