/**
 * A process-wide pool of worker threads that compress frames, one per core the process may run
 * on (taskset is honoured). Measured on the bench capture, one core: node:zlib's one-shot
 * zstdCompressSync of 1 MiB blocks costs 0.26 s per 100 MB of CPU, its async zstdCompress (the
 * libuv thread pool) 0.70-0.82 s, a zstd stream ending a frame per block 0.37 s. So frames are
 * compressed synchronously, each on a worker, and the main thread keeps reading and parsing.
 * Every pack in the process shares the same workers: they share the cores, not compete for them.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

export type FrameJob =
  | { codec: 'zstd'; level: number; data: Uint8Array }
  | { codec: 'deflate'; level: number; data: Uint8Array };

export interface FrameResult {
  frame: Buffer;
  /** CRC-32 of the input (deflate jobs: the gzip trailer needs it). */
  crc: number;
}

/** The worker: CommonJS source run with `eval`, so it works from dist/ and from the TypeScript sources alike. */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const zlib = require('node:zlib');
parentPort.on('message', ({ id, codec, level, buffer, length }) => {
  const data = new Uint8Array(buffer, 0, length);
  try {
    const bound = data.length + (data.length >> 7) + 1024;
    let frame;
    let crc = 0;
    if (codec === 'zstd') {
      frame = zlib.zstdCompressSync(data, {
        params: { [zlib.constants.ZSTD_c_compressionLevel]: level, [zlib.constants.ZSTD_c_checksumFlag]: 1 },
        pledgedSrcSize: data.length,
        chunkSize: bound,
      });
    } else {
      frame = zlib.deflateRawSync(data, { level, memLevel: 9, chunkSize: bound });
      crc = zlib.crc32(data);
    }
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

  private pick(): PoolWorker {
    let best: PoolWorker | undefined;
    for (const slot of this.workers) if (!best || slot.inFlight < best.inFlight) best = slot;
    if (best && (best.inFlight === 0 || this.workers.length >= this.size)) return best;
    return this.spawn();
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
  pool ??= new FrameWorkerPool(Math.max(1, availableParallelism()));
  return pool.run(job);
}
