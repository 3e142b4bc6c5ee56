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
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import zlib from 'node:zlib';

export type FrameJob =
  | { codec: 'zstd'; level: number; data: Uint8Array }
  | { codec: 'deflate'; level: number; data: Uint8Array };

export interface FrameResult {
  frame: Buffer;
  /** CRC-32 of the input (deflate jobs: the gzip trailer needs it). */
  crc: number;
}

/**
 * Compresses one frame; `zlib` is passed in because this function's source also runs inside the
 * workers (see WORKER_SOURCE), where it is plain CommonJS without imports.
 */
function compressFrame(zlib: typeof import('node:zlib'), codec: FrameJob['codec'], level: number, data: Uint8Array): FrameResult {
  // Room for the whole frame in one output chunk, so zlib never concatenates pieces.
  const bound = data.length + (data.length >> 7) + 1024;
  if (codec === 'zstd') {
    const frame = zlib.zstdCompressSync(data, {
      params: { [zlib.constants.ZSTD_c_compressionLevel]: level, [zlib.constants.ZSTD_c_checksumFlag]: 1 },
      pledgedSrcSize: data.length,
      chunkSize: bound,
    });
    return { frame, crc: 0 };
  }
  return { frame: zlib.deflateRawSync(data, { level, memLevel: 9, chunkSize: bound }), crc: zlib.crc32(data) };
}

/** The worker: CommonJS source run with `eval`, so it works from dist/ and from the TypeScript sources alike. */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const zlib = require('node:zlib');
const compressFrame = ${compressFrame.toString()};
parentPort.on('message', ({ id, codec, level, buffer, length }) => {
  try {
    const { frame, crc } = compressFrame(zlib, codec, level, new Uint8Array(buffer, 0, length));
    // The input buffer goes back for reuse; a large frame moves rather than being copied (a small
    // one may sit in Node's shared pool, which cannot be transferred).
    const transfer = [buffer];
    if (frame.length >= 4096 && frame.buffer !== buffer) transfer.push(frame.buffer);
    parentPort.postMessage({ id, frame, crc, buffer }, transfer);
  } catch (error) {
    parentPort.postMessage({ id, error: String(error && error.message || error), buffer }, [buffer]);
  }
});
`;

interface Pending {
  resolve: (result: FrameResult) => void;
  reject: (error: Error) => void;
}

interface PoolWorker {
  worker: Worker;
  inFlight: number;
}

/** Transfer buffers kept for reuse (they shuttle blocks to the workers and come back with the frames). */
const MAX_SPARE = 16;

class FrameWorkerPool {
  private readonly workers: PoolWorker[] = [];
  private readonly spare: ArrayBuffer[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;

  constructor(private readonly size: number) {}

  run(job: FrameJob): Promise<FrameResult> {
    const slot = this.pick();
    if (!slot) {
      try {
        return Promise.resolve(compressFrame(zlib, job.codec, job.level, job.data));
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
    }
    const id = this.nextId++;
    return new Promise<FrameResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      slot.inFlight += 1;
      // A busy worker keeps the process alive until its frame is back; an idle one does not.
      if (slot.inFlight === 1) slot.worker.ref();
      // One copy into a transfer buffer (cheaper than a structured clone), then moved, not copied:
      // the caller's block is free again as soon as this returns.
      const length = job.data.length;
      let buffer = this.spare.pop();
      if (!buffer || buffer.byteLength < length) buffer = new ArrayBuffer(Math.max(length, 1 << 20));
      new Uint8Array(buffer, 0, length).set(job.data);
      slot.worker.postMessage({ id, codec: job.codec, level: job.level, buffer, length }, [buffer]);
    });
  }

  /** An idle worker (started if the pool has room), or undefined: then this thread compresses the frame itself. */
  private pick(): PoolWorker | undefined {
    const idle = this.workers.find((slot) => slot.inFlight === 0);
    if (idle) return idle;
    return this.workers.length < this.size ? this.spawn() : undefined;
  }

  private spawn(): PoolWorker {
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    const slot: PoolWorker = { worker, inFlight: 0 };
    worker.unref();
    worker.on('message', (message: { id: number; frame?: Uint8Array; crc?: number; error?: string; buffer?: ArrayBuffer }) => {
      slot.inFlight -= 1;
      if (message.buffer && this.spare.length < MAX_SPARE) this.spare.push(message.buffer);
      if (slot.inFlight === 0) worker.unref();
      const waiting = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (!waiting) return;
      if (message.error !== undefined || !message.frame) waiting.reject(new Error(`frame compression failed: ${message.error ?? 'no output'}`));
      else waiting.resolve({ frame: Buffer.from(message.frame.buffer, message.frame.byteOffset, message.frame.byteLength), crc: message.crc ?? 0 });
    });
    worker.on('error', (error) => this.failAll(error));
    worker.on('exit', () => {
      const at = this.workers.indexOf(slot);
      if (at >= 0) this.workers.splice(at, 1);
    });
    this.workers.push(slot);
    return slot;
  }

  private failAll(error: Error): void {
    for (const waiting of this.pending.values()) waiting.reject(error);
    this.pending.clear();
  }
}

let pool: FrameWorkerPool | undefined;

/** Compresses one frame on the shared pool (started on first use). */
export function compressOnWorker(job: FrameJob): Promise<FrameResult> {
  // The calling thread is one of the cores: with taskset to one core there are no workers at all.
  pool ??= new FrameWorkerPool(availableParallelism() - 1);
  return pool.run(job);
}
