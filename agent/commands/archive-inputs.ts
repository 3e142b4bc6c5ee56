import { constants, createReadStream, open as openCallback } from 'node:fs';
import { promisify } from 'node:util';
import { Socket } from 'node:net';
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { createDecompressor } from '../archive/compress.js';
import type { Codec } from '../archive/types.js';
import { UsageError } from '../usage-error.js';

/** A capture to pack: what the user named, and the regular pcap file holding its bytes. */
export interface ArchiveInput {
  name: string;
  path: string;
  /** Set when the input was gzip or zstd: it was decompressed into `path`. */
  decompressed?: Codec;
  /** Set when the compressed stream was cut or corrupt: the bytes before that point are in `path`. */
  damage?: string;
}

const openDescriptor = promisify(openCallback);

/** How long a named pipe may wait for a writer before we say that we are waiting. */
const FIFO_NOTICE_MS = 1000;

function compressionOf(magic: Buffer): Codec | undefined {
  if (magic.length >= 2 && magic[0] === 0x1f && magic[1] === 0x8b) return 'gzip';
  if (magic.length >= 4 && magic.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return undefined;
}

/**
 * Makes every input a regular, uncompressed pcap file the packer can read twice (header, then
 * records) at any offset. Regular pcap files are used in place. A pipe (`<(cat x.pcap)`, a named
 * pipe, stdin as /dev/stdin), a character device, or a gzip/zstd capture is read once, front to
 * back, into `workDir`, decompressing on the way: that costs its (decompressed) size in the work
 * directory's file system. A named pipe without a writer blocks open() like `cat` does; after a
 * second we say on stderr that we wait for one.
 */
export async function prepareInput(name: string, workDir: string, index: number): Promise<ArchiveInput> {
  let info;
  try {
    info = await stat(name);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`${name}: no such file`);
    if (code === 'EACCES') throw new UsageError(`${name}: permission denied`);
    if (code === 'ENOTDIR') throw new UsageError(`${name}: no such file (a part of the path is not a directory)`);
    throw error;
  }
  if (info.isDirectory()) throw new UsageError(`${name}: is a directory, not a capture file`);
  if (info.isSocket()) throw new UsageError(`${name}: is a socket, not a capture file`);
  if (info.isFile()) {
    const magic = await readMagic(name);
    const codec = compressionOf(magic);
    if (!codec) return { name, path: name };
    return materialise(name, createReadStream(name), codec, join(workDir, `input-${index}.pcap`));
  }
  const source = await openSequential(name, info.isFIFO());
  // Peek at the first bytes to see whether the stream is compressed, then put them back in front.
  const first = await firstChunk(source);
  const codec = compressionOf(first ?? Buffer.alloc(0));
  const replay = new PassThrough();
  if (first) replay.write(first);
  source.pipe(replay);
  source.on('error', (error) => replay.destroy(error));
  return materialise(name, replay, codec, join(workDir, `input-${index}.pcap`));
}

async function readMagic(path: string): Promise<Buffer> {
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(4);
    const { bytesRead } = await file.read(buffer, 0, 4, 0);
    return buffer.subarray(0, bytesRead);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EISDIR') throw new UsageError(`${path}: is a directory, not a capture file`);
    throw error;
  } finally {
    await file.close();
  }
}

/**
 * Opens a pipe or device for reading front to back. A pipe is opened non-blocking and read through
 * the event loop: a blocking open() of a pipe without a writer would sit in a thread-pool thread
 * that even process.exit() waits for, so Ctrl-C would not work. When nothing arrives for a second,
 * we say on stderr that we wait for a writer.
 */
async function openSequential(name: string, fifo: boolean): Promise<Readable> {
  if (!fifo) return (await open(name, 'r')).createReadStream({ highWaterMark: 1024 * 1024 });
  // A plain descriptor, not a FileHandle: the socket owns and closes it.
  const fd = await openDescriptor(name, constants.O_RDONLY | constants.O_NONBLOCK);
  const socket = new Socket({ fd, readable: true, writable: false });
  const notice = setTimeout(
    () => process.stderr.write(`vtap-archiver: ${name} is a named pipe with no writer yet; waiting for one (Ctrl-C to give up)\n`),
    FIFO_NOTICE_MS,
  );
  const stop = () => clearTimeout(notice);
  socket.once('readable', stop);
  socket.once('close', stop);
  return socket;
}

function firstChunk(stream: Readable): Promise<Buffer | undefined> {
  return new Promise((resolvePromise, reject) => {
    const onReadable = () => {
      const chunk = stream.read() as Buffer | null;
      if (chunk === null) return;
      cleanup();
      resolvePromise(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolvePromise(undefined);
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const cleanup = () => {
      stream.off('readable', onReadable);
      stream.off('end', onEnd);
      stream.off('error', onError);
    };
    stream.on('readable', onReadable);
    stream.on('end', onEnd);
    stream.on('error', onError);
  });
}

/** Copies (and decompresses) a stream into `target`; a cut or corrupt compressed stream keeps what came before. */
async function materialise(name: string, source: Readable, codec: Codec | undefined, target: string): Promise<ArchiveInput> {
  let stream: Readable = source;
  if (codec) {
    const decompressor = createDecompressor(codec);
    source.on('error', (error) => decompressor.destroy(error));
    stream = source.pipe(decompressor);
  }
  const out = await open(target, 'w');
  let damage: string | undefined;
  try {
    for await (const chunk of stream) await out.write(chunk as Buffer);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Only the decompressor's complaints ("unexpected end of file", ...) are damage to report.
    if (!codec || (typeof code === 'string' && !code.startsWith('Z_'))) throw error;
    damage = (error as Error).message;
  } finally {
    await out.close();
  }
  return { name, path: target, ...(codec ? { decompressed: codec } : {}), ...(damage ? { damage } : {}) };
}
