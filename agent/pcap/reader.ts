import { open } from 'node:fs/promises';
import { PcapParser, parseGlobalHeader, type PcapCut, type RecordVisitor } from './parser.js';
import { BufferPool } from './buffer-pool.js';
import { PcapFormatError } from './errors.js';
import type { PcapFileHeader } from './format.js';

export interface PcapReadResult {
  header: PcapFileHeader;
  records: number;
  bytes: number;
  cut: PcapCut | undefined;
  /** Records kept whose timestamp fraction was out of range and was carried into the seconds. */
  timestampsNormalised: number;
}

/** 4 MiB reads: large enough that syscalls vanish from the profile, small enough to stay in cache. */
const CHUNK_SIZE = 4 * 1024 * 1024;
const readBuffers = new BufferPool(CHUNK_SIZE, 4);

/**
 * Streams a classic pcap file through `visit`, record by record. `afterChunk` runs between reads
 * so the caller can wait for its output to drain (backpressure); it also runs whenever `visit`
 * returns false (a pause), before the parser goes on. A file cut off mid-record yields
 * every complete record and reports the cut instead of failing.
 */
export async function readPcapFile(
  path: string,
  visit: RecordVisitor,
  afterChunk?: () => Promise<void> | void,
): Promise<PcapReadResult> {
  const parser = new PcapParser(visit);
  const file = await open(path, 'r');
  let bytes = 0;
  const buffer = readBuffers.take();
  try {
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, CHUNK_SIZE, null);
      if (bytesRead === 0) break;
      bytes += bytesRead;
      // The parser copies what it carries across chunks, so the read buffer can be reused.
      let done = parser.push(buffer.subarray(0, bytesRead));
      // A paused parser still points into `buffer`: let the caller catch up before going on.
      while (!done) {
        if (afterChunk) await afterChunk();
        done = parser.resume();
      }
      if (parser.cut) break;
      if (afterChunk) await afterChunk();
    }
  } finally {
    await file.close();
    // Visitors copy what they keep, and the parser its carry-over: nothing points into it now.
    readBuffers.give(buffer);
  }
  const cut = parser.finish();
  const header = parser.fileHeader;
  if (!header) throw new Error('unreachable: finish() throws when there is no header');
  return { header, records: parser.records, bytes, cut, timestampsNormalised: parser.timestampsNormalised };
}

/** Reads only the global header: a cheap check that a file is a pcap we can process. */
export async function readPcapHeader(path: string): Promise<PcapFileHeader> {
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(24);
    const { bytesRead } = await file.read(buffer, 0, 24, 0);
    if (bytesRead === 0) throw new PcapFormatError('empty file: no pcap header');
    return parseGlobalHeader(buffer.subarray(0, bytesRead));
  } finally {
    await file.close();
  }
}
